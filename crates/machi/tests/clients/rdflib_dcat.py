"""rdflib (an independent RDF library) reads machi's DCAT catalog in both forms and finds the
same graph, with a dataset, its distribution and licence. Argument: the server's address."""

import sys
import urllib.request

import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF

address = sys.argv[1]


def fetch(path, expected_type):
    with urllib.request.urlopen(address + path) as response:
        assert response.headers["Content-Type"].startswith(expected_type), response.headers["Content-Type"]
        return response.read().decode("utf-8")


turtle = rdflib.Graph().parse(data=fetch("/catalog.ttl", "text/turtle"), format="turtle")
json_ld = rdflib.Graph().parse(data=fetch("/catalog.jsonld", "application/ld+json"), format="json-ld")
assert len(turtle) > 20, len(turtle)
assert isomorphic(turtle, json_ld), "the two forms say different things"

datasets = list(turtle.subjects(RDF.type, DCAT.Dataset))
assert len(datasets) == 3, datasets
aed = rdflib.URIRef(address + "/opendata/datasets/aed")
titles = {str(t) for t in turtle.objects(aed, DCTERMS.title)}
assert "AED設置箇所一覧" in titles, titles
distribution = next(turtle.objects(aed, DCAT.distribution))
assert (distribution, RDF.type, DCAT.Distribution) in turtle
licence = next(turtle.objects(distribution, DCTERMS.license))
assert str(licence).startswith("https://creativecommons.org/licenses/by/4.0"), licence
print("rdflib read the same DCAT graph from Turtle and JSON-LD:", len(turtle), "triples")
