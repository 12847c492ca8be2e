"""Tenant registry, schema provisioning, migrations, credential -> principal, request binding."""
