"""One module per `chatops` subcommand, each with `add_parser(subparsers)` and `run(args)`."""
