"""Voicebot: a French phone assistant for public administrations."""

import os

# One thread per numerical library call: the service runs many calls side by side, each
# doing small vector sums every 20 ms. Left to itself, OpenBLAS starts a thread per core
# for them, and its threads spin between calls (measured: a whole core busy for one
# call). Set before numpy is first imported; a deployment may still set its own.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"
