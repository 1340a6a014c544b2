"""The API's error responses as the schema documents them."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

Detail = inline_serializer("Detail", {"detail": serializers.CharField()})

INVALID = OpenApiResponse(
    {
        "type": "object",
        # Field errors are lists of messages; a request the parser rejects has a "detail".
        "additionalProperties": {
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]
        },
        "example": {"grain": ["'fortnight' is not a known grain; allowed: day, week, month, 3m"]},
    },
    description="A parameter or field is not valid; each message names the allowed values.",
)
ERRORS = {
    400: INVALID,
    403: OpenApiResponse(Detail, description="Your roles do not allow this here."),
    404: OpenApiResponse(Detail, description="Not found, or outside your scope."),
    409: OpenApiResponse(Detail, description="The signal's state does not allow this step."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error responses for `codes`, to merge into `extend_schema(responses=)`."""
    return {code: ERRORS[code] for code in codes}
