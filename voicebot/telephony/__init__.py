"""Wire formats at the telephony edge: chan_websocket, AudioSocket, ARI."""
