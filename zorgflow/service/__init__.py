"""The service layer: the engine and a store together, for applications.

- `CaseService`: start, fire, set facts, complete tasks and sweep timers by case id, each
  command in one store transaction, with ``expected_version`` and idempotency keys;
- `TimerWorker`: sweeps due timer signals in batches until stopped (``zorgflow worker``);
- `case_view`, `history_view`, `ref_view`: cases, their history and stored-case references as
  JSON-ready data, personal data masked for actors the workflow's ``visible_to:`` leaves out;
- `read_plan` and `CaseService.migrate`: move stored cases to a new workflow version;
- `ProcessingLog`: the processing log (LDV) `CaseService` writes for steps on personal data;
- `CaseService.retention` and `destroy_due`: cases whose retention ended (Archiefwet), and
  destroying them with a log;
- `ZaakSync`: stored cases sent to a ZGW Zaken API as zaken.
"""

from ..migration_plan import MigrationPlan
from ..store import RecordedSignal
from ..zgw.sync import SyncFailure, SyncResult, SyncStep, ZaakSync
from .ldv import Processing, ProcessingLog
from .migration import CaseMigration, MigrationRun, read_plan
from .retention import RetentionDue
from .service import CaseService, Sweep, SweepFailure
from .views import MASK, case_view, history_view, ref_view
from .worker import Round, TimerWorker

__all__ = ["MASK", "CaseMigration", "CaseService", "MigrationPlan", "MigrationRun",
           "Processing", "ProcessingLog", "RecordedSignal", "RetentionDue", "Round", "Sweep",
           "SweepFailure", "SyncFailure", "SyncResult", "SyncStep", "TimerWorker", "ZaakSync",
           "case_view", "history_view", "read_plan", "ref_view"]
