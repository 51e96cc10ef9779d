"""Business logic of sellersync: plain Python, no Dramatiq or Falcon imports."""
