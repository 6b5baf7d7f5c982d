def clean(raw, **kw):
    raise NotImplementedError
