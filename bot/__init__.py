"""newsbot: the outside world (CLI, Telegram, fetching) on top of the store."""
