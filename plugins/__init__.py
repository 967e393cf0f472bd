"""Built-in plugins and the hook specifications third-party plugins implement."""
