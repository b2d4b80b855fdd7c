"""Kizuna's Celery worker: `celery -A worker worker --beat` finds the app in worker/celery.py."""
