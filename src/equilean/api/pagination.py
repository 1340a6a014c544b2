"""Limit/offset paging with a largest page, so no request asks the database for everything."""

from rest_framework.pagination import LimitOffsetPagination


class Page(LimitOffsetPagination):
    """`?limit=` and `?offset=`; a larger limit is clamped to `max_limit`."""

    max_limit = 1000

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
