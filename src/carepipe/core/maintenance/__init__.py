"""The maintenance fence (issue 17): one row that, when set, stops writes everywhere.

While fenced, the API answers writes 503 ``maintenance`` with Retry-After, the MLLP
listener stops accepting connections (senders keep their messages and retry) and
workers stop claiming. A failover or a disaster-recovery drill sets it on the old
primary before restoring to the standby, so nothing is acknowledged that the standby
could lack. ``fence`` is its only writer; ``watch`` is how processes read it cheaply.
"""
