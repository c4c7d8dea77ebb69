"""The provider's pages in the Airflow UI: a "NetSuite job" tab on task instances and a
"NetSuite jobs" page in the navigation.

- ``journal``: what a task learned about its job at each poll, written where Airflow keeps task
  data (task_state_store on Airflow 3.3, XCom otherwise and from the triggerer); no FastAPI.
- ``store``: reads those records (and the tasks' XComs) in the API server.
- ``live``: at most one checkAsyncStatus per job per refresh period, shared by every viewer.
- ``app``: the FastAPI app (routes, security) the plugin mounts on the API server.
- ``plugin``: the AirflowPlugin the provider info declares.
"""
