"""What the clauses of one text leave for the later ones, while the rules engine reads it.

Split out of ``rules.py`` on 2026-11-29 (eleventh pass) with the service and follow-up
readers (``services_read.py``), which use it too, to keep each module under 600 lines.
"""

from __future__ import annotations

from carepipe.engines.orders.models import Action, MedicationOrder, OrderSet


class ReadState:
    """What one text's earlier clauses leave for the later ones."""

    def __init__(self) -> None:
        self.inherited: dict[int, Action] = {}  # sentence -> its verb's action
        self.earlier: Action | None = None  # the verb lent to the clause being read
        # (clause seen, text, orders) of the last clause that ordered something
        self.proposed: tuple[int, str, OrderSet] | None = None
        self.last_med: tuple[int, MedicationOrder] | None = None  # (clause no., order)
        self.clause_no = 0  # clauses read so far
        self.test_sentences: set[int] = set()  # sentences naming a lab test plainly
        self.history_sentences: set[int] = set()  # sentences opening with history
        self.result_sentences: set[int] = set()  # sentences judged by the next one
        self.ordered: set[str] = set()  # services ordered so far (one order each)
        self.repeats = 0  # services named again (not ordered twice)
        self.sentence_meds: dict[int, list[MedicationOrder]] = {}  # sentence -> its drugs
        self.deferred: tuple[int, str] | None = None  # (clause seen, text) of a later plan
        self.seen = 0  # clauses looked at, whatever they gave
        self.sentence_rest: dict[int, str] = {}  # clause start -> its sentence after it
        # (clause seen, drug) of the one drug a clause just told as history (twelfth pass)
        self.told: tuple[int, MedicationOrder] | None = None
        # drugs listed with no verb of their own, which "All to continue" goes on with
        # (fourteenth pass)
        self.unverbed: list[MedicationOrder] = []
        # the sentence whose list a negation opened ("Avoid NSAIDs, aspirin or
        # anticoagulants"; nineteenth pass)
        self.negated_list: int | None = None
