"""The HTTP face (`keytui serve`): other systems check keys over the network through it.

`app` builds the Starlette application, `batcher` group-commits activity events, `clientip`
decides whose address a request carries, `cooling` answers brute force with 429, `metrics`
renders Prometheus text, `options` carries the command line into every worker process.
"""
