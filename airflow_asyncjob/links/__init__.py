"""Extra links shown on this provider's tasks in the Airflow UI (registered in provider info)."""
