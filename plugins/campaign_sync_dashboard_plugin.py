"""Registers the Campaign Sync membership dashboard with Airflow: an app on the API server and a UI nav entry.

The page is an *external view* with a ``url_route``, so the Airflow UI shows it inside its own layout (an
iframe on the same origin, which is why the user's ``_token`` cookie reaches the dashboard's API).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from dynamics_campaign_sync.dashboard.app import URL_PREFIX, create_app

#: Relative, without a leading slash: the UI resolves it against its ``<base href>``, so ``[api] base_url``
#: sub-paths keep working.
PAGE = f"{URL_PREFIX.lstrip('/')}/"


class CampaignSyncDashboardPlugin(AirflowPlugin):
    name = "campaign_sync_dashboard"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Campaign Sync dashboard"}]
    external_views = [
        {
            "name": "Campaign Sync",
            "href": PAGE,
            "destination": "nav",
            "url_route": "campaign-sync",
            "icon": f"{PAGE}static/icon.svg",
            "nav_top_level": True,
        }
    ]
