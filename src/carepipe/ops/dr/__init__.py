"""Disaster-recovery drills (issue 17, UC-OPS-006, docs/disaster-recovery.md).

A drill fences the primary, restores its latest backup to a standby it builds, starts
CarePipe there, runs smoke tests through the front doors, measures RTO and RPO and
writes a report with findings (action items with an owner and a due date).
"""
