"""The bioexit service: REST API (/v1) for lane devices, officers, supervisors and auditors."""
