"""Command-line interface: one module per subcommand group, each thin over the Python API."""
