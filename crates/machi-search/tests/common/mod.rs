//! What the search tests share: the demo catalog indexed as the city's search indexes it.

use machi_core::procedures::{parse_catalog, CatalogFormat};
use machi_search::words::EverydayWords;
use machi_search::{sources, Engine, Kind};

pub fn demo_engine() -> Engine {
    let catalog = parse_catalog(
        include_bytes!("../../../machi/demo/procedures.yaml"),
        CatalogFormat::Yaml,
    )
    .unwrap();
    let engine = Engine::new(EverydayWords::default_list()).unwrap();
    let documents: Vec<_> = catalog.iter().map(sources::procedure).collect();
    engine.replace_kind(Kind::Procedure, &documents).unwrap();
    engine
}
