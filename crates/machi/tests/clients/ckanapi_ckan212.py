"""ckanapi calls machi as scripts written for CKAN 2.12 call it, and checks each answer has
CKAN's shape — the differences a side-by-side run against CKAN 2.12 found (issue 19):

1. datastore_search with distinct;  2. records_format lists, csv and tsv;  3. datastore_create
with a resource dict (the resource and its table in one call);  4. CKAN's licence ids;
5. PostgreSQL's type names in search and info;  6. the keys a result echoes;  7. filtered
deletes (datastore_delete, datastore_records_delete) and datastore_search_sql, which machi
answers as a CKAN with it disabled does. Arguments: the address and a writer's token."""

import sys

import ckanapi
import requests

address, token = sys.argv[1], sys.argv[2]
site = ckanapi.RemoteCKAN(address, apikey=token, user_agent="machi-ckanapi-test")


def refused(action, **params):
    """The error_dict of a call that must be a ValidationError."""
    try:
        getattr(site.action, action)(**params)
    except ckanapi.ValidationError as error:
        return error.error_dict
    raise AssertionError(f"{action} {params} must be a ValidationError")


# 4. CKAN's licence ids: an alias is stored under machi's id; CKAN's others are kept.
licences = {entry["id"]: entry for entry in site.action.license_list()}
for both in ["cc-by", "CC-BY-4.0", "cc-zero", "CC0-1.0", "odc-odbl", "gfdl", "other-open"]:
    assert both in licences, both
assert set(licences["cc-by"]) >= {
    "id", "title", "url", "od_conformance", "osd_conformance", "status", "domain_data",
    "domain_content", "domain_software", "family", "is_generic", "maintainer",
}, licences["cc-by"]
assert licences["cc-by"]["od_conformance"] == "approved"
assert licences["other-closed"]["od_conformance"] == "not reviewed"
created = site.action.package_create(name="hinanjo", title="避難所一覧", license_id="cc-by")
assert created["license_id"] == "CC-BY-4.0", created["license_id"]
kept = site.action.package_create(name="bunsho", title="文書", license_id="gfdl")
assert kept["license_id"] == "gfdl"
found = site.action.package_search(fq="license_id:cc-by")
assert [d["name"] for d in found["results"]] == ["hinanjo"], found["results"]
assert "license_id" in refused("package_create", name="x-made-up", license_id="made-up")

# 3. datastore_create with a resource dict: the resource and its table in one call.
CITIES = ["大阪市", "堺市", "豊中市", "吹田市", "高槻市"]
FIELDS = [
    {"id": "city", "type": "text"},
    {"id": "name", "type": "text"},
    {"id": "capacity", "type": "int"},
    {"id": "ratio", "type": "float8"},
    {"id": "open", "type": "bool"},
    {"id": "opened", "type": "timestamp"},
    {"id": "extra", "type": "json"},
]
rows = [
    {"city": CITIES[i % 5], "name": f"避難所{i}", "capacity": i * 10, "ratio": i / 4,
     "open": i % 2 == 0, "opened": "2024-04-01T09:00:00", "extra": {"floor": i}}
    for i in range(1, 51)
]
made = site.action.datastore_create(
    resource={"package_id": created["id"], "name": "避難所（データ）"}, fields=FIELDS, records=rows,
)
table = made["resource_id"]
assert made["resource"] == {"package_id": created["id"], "name": "避難所（データ）"}, made
shown = site.action.resource_show(id=table)
assert shown["datastore_active"] is True and shown["url_type"] == "datastore", shown
assert shown["url"].endswith(f"/datastore/dump/{table}"), shown["url"]
dump = requests.get(shown["url"], timeout=10)
assert dump.status_code == 200 and dump.headers["content-type"].startswith("text/csv")
lines = dump.text.split("\n")
assert lines[0] == "_id,city,name,capacity,ratio,open,opened,extra", lines[0]
assert len(lines) == 52 and lines[-1] == "", len(lines)  # a header, 50 rows, the last \n
assert "resource" in refused("datastore_create", resource={"package_id": created["id"]},
                             resource_id=table, fields=FIELDS)
assert "resource_id" in refused("datastore_create", fields=FIELDS)
before = len(site.action.package_show(id="hinanjo")["resources"])
bad = refused("datastore_create", resource={"package_id": created["id"], "name": "壊れた表"},
              fields=FIELDS, records=[{"capacity": "多い"}])
assert bad, bad
after = site.action.package_show(id="hinanjo")["resources"]
assert len(after) == before, "a failed call leaves no resource behind"


def search(**params):
    return site.action.datastore_search(resource_id=table, **params)


# 1. distinct: each city once, and total counts the distinct values.
distinct = search(fields=["city"], distinct=True, sort="city")
assert distinct["total"] == 5, distinct["total"]
assert [r["city"] for r in distinct["records"]] == sorted(CITIES), distinct["records"]
assert distinct["distinct"] is True and distinct["sort"] == "city"
assert search(fields=["city"])["total"] == 50

# 2. records_format: lists in field order, CSV and TSV text as COPY writes it (no header).
listed = search(records_format="lists", limit=2)
assert listed["records_format"] == "lists"
assert listed["records"][0][:5] == [1, "堺市", "避難所1", 10, 0.25], listed["records"][0]
shown_fields = ["_id", "city", "name", "capacity", "ratio", "open", "opened"]
as_csv = search(records_format="csv", limit=3, fields=shown_fields)
assert as_csv["records"] == (
    "1,堺市,避難所1,10,0.25,f,2024-04-01T09:00:00\n"
    "2,豊中市,避難所2,20,0.5,t,2024-04-01T09:00:00\n"
    "3,吹田市,避難所3,30,0.75,f,2024-04-01T09:00:00\n"
), repr(as_csv["records"])
as_tsv = search(records_format="tsv", limit=1, fields=["_id", "city", "ratio"])
assert as_tsv["records"] == "1\t堺市\t0.25\n", repr(as_tsv["records"])
assert "records_format" in refused("datastore_search", resource_id=table, records_format="xml")

# 5. PostgreSQL's names for the types, in search and in info.
types = {f["id"]: f["type"] for f in search(limit=0)["fields"]}
assert types == {"_id": "int", "city": "text", "name": "text", "capacity": "int4",
                 "ratio": "float8", "open": "bool", "opened": "timestamp", "extra": "json"}, types
info = site.action.datastore_info(id=table)
assert {f["id"]: f["type"] for f in info["fields"]} == {k: v for k, v in types.items() if k != "_id"}

# 6. The keys a result carries, and what it echoes of the call.
page = search(filters={"city": "堺市"}, sort="capacity desc", limit=3)
for key in ["resource_id", "fields", "records", "limit", "offset", "total", "include_total",
            "records_format", "_links", "total_estimation_threshold", "filters", "sort"]:
    assert key in page, key
assert page["filters"] == {"city": "堺市"} and page["sort"] == "capacity desc"
assert page["total_estimation_threshold"] is None and page["total"] == 10
assert "sort" in refused("datastore_search", resource_id=table, sort="色")
assert "filters" in refused("datastore_search", resource_id=table, filters={"色": "赤"})

# CKAN 2.12's filter operators: comparisons, $or/$and, and a list of dicts for OR.
assert search(filters={"capacity": {"gte": 100, "lt": 200}}, limit=0)["total"] == 10
either = search(filters=[{"city": "大阪市"}, {"capacity": {"lte": 30}}], limit=0)
assert either["total"] == 13 and either["filters"] == [{"city": "大阪市"}, {"capacity": {"lte": 30}}]
nested = search(filters={"$or": [{"city": "堺市"}, {"city": "吹田市"}], "capacity": {"gt": 250}})
assert nested["total"] == 10, nested["total"]
assert [r["_id"] for r in nested["records"]] == [26, 28, 31, 33, 36, 38, 41, 43, 46, 48]
assert search(filters={"city": ["堺市", {"eq": "吹田市"}]}, limit=0)["total"] == 20
unknown_op = refused("datastore_search", resource_id=table, filters={"capacity": {"ne": 1}})
assert "Unknown filter operation: ne" in unknown_op["filters"][0], unknown_op
unknown_field = refused("datastore_search", resource_id=table, filters={"色": {"gt": 1}})
assert unknown_field["filters"] == ["Unknown field: 色"], unknown_field

# next_page: the filters for the page after, in _id order, while pages are full.
assert "next_page" not in search(limit=20) and search(limit=20)["include_next_page"] is False
first = search(limit=20, include_next_page=True)
assert first["include_next_page"] is True and first["next_page"] == {"_id": {"gt": 20}}, first
second = search(limit=20, include_next_page=True, filters=first["next_page"])
assert [r["_id"] for r in second["records"]] == list(range(21, 41))
last = search(limit=20, include_next_page=True, filters=second["next_page"])
assert len(last["records"]) == 10 and "next_page" not in last
backwards = search(limit=5, sort="_id desc", include_next_page=True)
assert backwards["next_page"] == {"_id": {"lt": 46}}, backwards["next_page"]

# q ranks the records: the field list ends with CKAN's float "rank", best first.
ranked = search(q="避難所1", limit=3)
assert ranked["fields"][-1] == {"id": "rank", "type": "float"}, ranked["fields"]
ranks = [r["rank"] for r in ranked["records"]]
assert ranks == sorted(ranks, reverse=True) and ranks[0] > 0, ranks
assert ranked["total"] == 11 and ranked["q"] == "避難所1"  # 避難所1, 避難所10 … 避難所19
per_field = search(q={"name": "避難所2"}, limit=2)
assert per_field["fields"][-1] == {"id": "rank name", "type": "float"}, per_field["fields"]
assert [r["rank name"] for r in per_field["records"]] == [1.0, 1.0] and per_field["total"] == 11

# 7. Deleting rows by filters; the table stays. datastore_search_sql is answered as by a CKAN
# where it is disabled (its default).
deleted = site.action.datastore_records_delete(resource_id=table, filters={"city": "堺市"})
assert deleted["filters"] == {"city": "堺市"}
assert search(limit=0)["total"] == 40
assert "filters" in refused("datastore_records_delete", resource_id=table)
assert "filters" in refused("datastore_delete", resource_id=table, filters="")
site.action.datastore_delete(resource_id=table, filters={"city": "豊中市"})
assert search(limit=0)["total"] == 30
site.action.datastore_delete(resource_id=table, filters={"capacity": {"gt": 450}})
assert search(limit=0)["total"] == 27
try:
    site.action.datastore_search_sql(sql=f'SELECT * FROM "{table}"')
    raise AssertionError("datastore_search_sql must not run")
except ckanapi.CKANAPIError as error:
    assert "Action name not known: datastore_search_sql" in str(error), error
print("ok")
