"""``python -m airflow_asyncjob status|result JOB_ID ...``: see ``airflow_asyncjob.cli``."""

import sys

from airflow_asyncjob.cli import main

sys.exit(main())
