"""The per-call dialog: a pure step function, state and event in, new state and actions out."""
