"""Integrations with model frameworks and execution engines (top layer, beside the tracker).

``activitysim`` and ``beam`` hold config adapters (the ``ConfigAdapter`` protocol lives in
``consist.adapters``); ``containers`` holds the Docker / Apptainer backends of the
container executor (``consist.execute.container``).
"""
