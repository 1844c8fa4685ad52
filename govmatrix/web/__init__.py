"""The web app (``govmatrix serve``): the public micro-site at ``/``, the review desk under ``/desk/``,
the dashboards under ``/dashboard/`` and the JSON API under ``/api/`` (schema at ``/openapi.json``).
Pages are rendered on the server and read without JavaScript; a small script adds keyboard shortcuts
and selection to the desk. Everything it shows it reads through the repo and ``matrix/``."""
