"""The command-line application around the pipeline: help, subcommand parsers, config validation, run
directories, interrupts and progress lines."""
