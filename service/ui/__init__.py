"""The browser view: server-rendered pages for people (search, item, entry, audit), no JavaScript."""
