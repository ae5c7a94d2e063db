"""Every table of the platform: the modules that define them, imported here by name.

Table models live beside the code that owns them (the queue and archive in
``core``, the patient index in ``interop.identity``, console users and backfills
in ``ops``); this module is where they come together into one ``metadata`` for
the migrations and the tests, so it sits above all of them.
"""

from __future__ import annotations

from carepipe.core import models as core_models
from carepipe.core.maintenance import models as maintenance_models
from carepipe.core.secrets import models as secret_models
from carepipe.flags import models as flag_models
from carepipe.interop.identity import models as identity_models
from carepipe.mlops import models as mlops_models
from carepipe.ops import backfill_models, key_models, user_models
from carepipe.ops.dr import models as dr_models
from carepipe.review import models as review_models

TABLE_MODULES = (
    core_models,
    identity_models,
    user_models,
    backfill_models,
    review_models,
    mlops_models,
    secret_models,
    key_models,
    flag_models,
    maintenance_models,
    dr_models,
)

metadata = core_models.Base.metadata
