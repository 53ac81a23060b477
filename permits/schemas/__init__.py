"""The JSON API's bodies as typed models, one module per area.

Every request and response body of /api/v1 is defined here once: the OpenAPI document
(views/api/openapi.py) is generated from these models, the API answers are serialised by them,
and an application's fields, their limits and enum values are read from here by the services.
Enum values and limits come from the code's own constants, never retyped.
"""
