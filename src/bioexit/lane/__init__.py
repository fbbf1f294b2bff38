"""The vehicle lane: an encounter's frames → its occupants → a decision on each.

Stages, one module each: :mod:`~bioexit.lane.frames` reads an encounter folder (IO),
:mod:`~bioexit.lane.occupants` tracks faces and finds occupants, :mod:`~bioexit.lane.decisions`
confirms them against documents or the gallery, :mod:`~bioexit.lane.result` is the result and its
schema, :mod:`~bioexit.lane.store` keeps results (idempotent), and
:mod:`~bioexit.lane.pipeline` joins them (:func:`~bioexit.lane.pipeline.process` is pure).
"""
