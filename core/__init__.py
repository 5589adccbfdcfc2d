"""What every app uses: access-checked lookups, pagination, periods, middlewares, system views."""
