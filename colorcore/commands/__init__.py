"""One module per `colorcore` sub-command (see `colorcore.cli`)."""
