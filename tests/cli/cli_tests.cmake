# Command-line tests of the xskan tool (registered by tests/cli.cmake).
