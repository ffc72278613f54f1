def preprocess(endpoints, **kwargs):
    return endpoints


def postprocess(result, generator, request, public):
    return result
