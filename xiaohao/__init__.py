"""The composition root: settings, wiring and the `xiaohao` command."""
