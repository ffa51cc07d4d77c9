"""An unmodified CKAN client (ckanapi, maintained by the CKAN project) reads machi's catalog
as it would read any CKAN portal: by POST (its default) and by GET only. Run by the integration
test `ckan::an_unmodified_ckan_client…` with the test server's address as the argument."""

import sys

import ckanapi


def read(site, get_only=False):
    assert site.action.site_read() is True
    names = site.action.package_list()
    assert names == ["aed", "hinanbasho", "jinko"], names

    aed = site.action.package_show(id="aed")
    assert aed["title"] == "AED設置箇所一覧", aed["title"]
    assert aed["organization"]["title"] == "危機管理課"
    assert aed["resources"][0]["format"] == "CSV"
    resource = site.action.resource_show(id=aed["resources"][0]["id"])
    assert resource["package_id"] == aed["id"]

    found = site.action.package_search(q="ａｅｄ")
    assert found["count"] == 1 and found["results"][0]["name"] == "aed", found
    faceted = site.action.package_search(
        fq="tags:防災", rows=1, sort="name asc", **{"facet.field": ["tags", "organization"]}
    )
    assert faceted["count"] == 2, faceted["count"]
    assert [r["name"] for r in faceted["results"]] == ["aed"]
    assert faceted["facets"]["tags"] == {"防災": 2, "AED": 1}, faceted["facets"]
    assert faceted["search_facets"]["organization"]["items"][0]["display_name"] == "危機管理課"

    assert resource["datastore_active"] is True
    if get_only:
        # requests cannot put a dict in a query string, so by GET only plain parameters.
        rows = site.action.datastore_search(resource_id=resource["id"], q="市役所", sort="名称 desc")
        assert rows["total"] == 1, rows
    else:
        rows = site.action.datastore_search(
            resource_id=resource["id"], filters={"開始時間": "09:00:00"}, sort="名称 desc", limit=5
        )
        assert rows["total"] == 2, rows
    # A q over the whole record adds CKAN's rank as the last field.
    ranked = ["rank"] if get_only else []
    assert [f["id"] for f in rows["fields"]] == ["_id", "名称", "緯度", "開始時間", "設置日"] + ranked
    assert rows["records"][0]["設置日"] == "2024-04-01", rows["records"]

    orgs = site.action.organization_list(all_fields=True)
    assert {o["name"]: o["package_count"] for o in orgs}["kikikanri"] == 2
    assert "aed" in site.action.group_list()
    assert site.action.tag_list() == ["AED", "人口", "防災"]

    try:
        site.action.package_show(id="nothing")
        raise AssertionError("a missing dataset must be NotFound")
    except ckanapi.NotFound:
        pass
    try:
        site.action.package_show()
        raise AssertionError("a missing id must be a ValidationError")
    except ckanapi.ValidationError as error:
        assert error.error_dict["id"] == ["Missing value"], error.error_dict


address = sys.argv[1]
read(ckanapi.RemoteCKAN(address, user_agent="machi-ckanapi-test"))
read(ckanapi.RemoteCKAN(address, user_agent="machi-ckanapi-test", get_only=True), get_only=True)
print("ckanapi read the catalog by POST and by GET")
