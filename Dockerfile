# The Airflow image of Campaign Sync: the official apache/airflow 3.3.2 image with our pinned dependencies
# (the Celery provider among them) and the project's dags/, plugins/ and include/. docker-compose.yaml
# mounts the working copies over those folders, so a change shows without a rebuild.
#
# The slim variant carries Airflow without the bundled providers: several of those (e.g. the FAB auth
# manager) cannot be installed with our frozen constraints. Python 3.11 is what constraints.txt was frozen on.
FROM apache/airflow:slim-3.3.2-python3.11

# requirements.txt ends with development tools (tests, lint, benchmarks): only the part above them is
# installed. apache-airflow stays pinned in it, so nothing can up- or downgrade Airflow itself.
COPY --chown=airflow:0 requirements.txt constraints.txt /tmp/campaign-sync/
RUN sed '/^# development/,$d' /tmp/campaign-sync/requirements.txt > /tmp/campaign-sync/runtime.txt \
    && pip install --no-cache-dir -r /tmp/campaign-sync/runtime.txt \
        -c /tmp/campaign-sync/constraints.txt \
    && rm -rf /tmp/campaign-sync

COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 include/ /opt/airflow/include/

# Our package registered as an Airflow provider (the "dynamics" connection type and its form), as `make`
# does: editable, so the code imported is always the one in /opt/airflow/plugins, mounted or not.
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e /opt/airflow

# Mount points of the named volumes: created here, group-writable, so a new volume is writable for any
# AIRFLOW_UID (the image runs arbitrary user ids with group 0).
RUN umask 0002 && mkdir -p /opt/airflow/campaign-data /opt/airflow/emulator-data
