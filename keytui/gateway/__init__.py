"""The HTTP face (`keytui serve`): other systems check keys over the network through it.

`app` builds the Starlette application and its lifespan; `inputs` reads what a request asks;
`batcher` checks and group-commits requests on the loop's own connection (the service backend), answering
each only after its event committed; `clientip` decides whose address a request carries;
`cooling` answers brute force with 429; `metrics` renders Prometheus text; `protocol` is
uvicorn's HTTP protocol with TCP_NODELAY; `options` carries the command line into every
worker process.
"""
