//! What a side-by-side run against CKAN 2.12 found machi answering differently (issue 19),
//! checked through ckanapi with the exact shapes CKAN gives: distinct, records_format,
//! datastore_create with a resource, CKAN's licence ids, type names, the keys a result echoes,
//! filtered deletes and datastore_search_sql.

use super::datastore::writer_token;
use super::run_client_with;
use crate::harness::TestApp;
use crate::on_both_backends;

async fn ckanapi_gets_ckan_2_12_s_answers(app: &TestApp) {
    let token = writer_token(app).await;
    run_client_with(app, "ckanapi_ckan212.py", &[&token]).await;
}

on_both_backends!(ckanapi_gets_ckan_2_12_s_answers,);
