"""The unit tier: the rotation saga over in-memory ports and an in-process sandbox, with no sockets."""
