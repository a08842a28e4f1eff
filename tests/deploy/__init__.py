"""Deployment tests: the compose file, and Airflow's components running as separate processes."""
