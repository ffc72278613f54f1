"""The schema class of every API view (its own module: smsgateway.schema imports the views)."""

from drf_spectacular.openapi import AutoSchema


class GatewayAutoSchema(AutoSchema):
    """Names a GET of a collection (a path without parameters) `…_list`, so that it does not share
    its operationId with the GET of one item (`…_retrieve`): the API views are plain APIViews."""

    def get_operation_id(self):
        operation_id = super().get_operation_id()
        if self.method == "GET" and "{" not in self.path and operation_id.endswith("_retrieve"):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id
