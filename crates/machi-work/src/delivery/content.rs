//! What a delivery says: a notice rendered once per batch and language (hundreds of thousands
//! of deliveries share a handful of notices), or the text of a message to one person.

use std::collections::HashMap;
use std::sync::Arc;

use machi_core::notices::{category_label, Category, Urgency};
use machi_store::deliveries::{Delivery, Outcome};
use machi_store::notices::Notice;
use machi_store::{Store, Tenant};
use serde_json::json;
use tokio::sync::Mutex;

/// The rendered text of one notice in one language, or of one direct message.
#[derive(Debug)]
pub(crate) struct Content {
    pub subject: String,
    pub text: String,
    /// The notice's page.
    pub url: Option<String>,
    pub urgency: Option<Urgency>,
    /// The notice as JSON text (for webhooks), serialised once for every delivery.
    pub notice_json: Option<String>,
    /// The city's name as a JSON string.
    pub city_json: String,
    pub city: String,
}

/// A claimed delivery with what it says.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub delivery: Delivery,
    pub content: Arc<Content>,
    /// The city's public address, for links.
    pub base: String,
}

impl Prepared {
    /// The subscriber's manage page (change choices, unsubscribe).
    pub fn manage_url(&self) -> Option<String> {
        self.delivery
            .subscription_id
            .as_ref()
            .map(|id| format!("{}/subscriptions/{id}", self.base))
    }

    /// The RFC 8058 one-click unsubscribe address.
    pub fn unsubscribe_url(&self) -> Option<String> {
        self.manage_url()
            .map(|manage| format!("{manage}/unsubscribe"))
    }

    pub fn is_emergency(&self) -> bool {
        self.content.urgency == Some(Urgency::Emergency)
    }
}

type Key = (String, String, String);

/// Renders and remembers notices for the workers.
pub(crate) struct Contents {
    store: Store,
    public_url: String,
    tenants: Mutex<Vec<Tenant>>,
    notices: Mutex<HashMap<Key, Arc<Content>>>,
}

/// Notices kept rendered; a broadcast needs one or two, so this only bounds memory.
const REMEMBERED: usize = 64;

impl Contents {
    pub fn new(store: Store, public_url: &str) -> Self {
        Self {
            store,
            public_url: public_url.to_string(),
            tenants: Mutex::new(Vec::new()),
            notices: Mutex::new(HashMap::new()),
        }
    }

    /// Pairs each delivery with its content; a delivery whose notice is gone cannot be sent.
    pub async fn prepare(
        &self,
        claimed: Vec<Delivery>,
    ) -> (Vec<Prepared>, Vec<(Delivery, Outcome)>) {
        let mut prepared = Vec::with_capacity(claimed.len());
        let mut unsendable = Vec::new();
        // A batch is nearly always one city's: look each city up once per batch.
        let mut cities: HashMap<String, (String, String)> = HashMap::new();
        for delivery in claimed {
            let (base, city) = match cities.get(&delivery.tenant_id) {
                Some(known) => known.clone(),
                None => {
                    let tenant = self.tenant(&delivery.tenant_id).await;
                    let found = (
                        self.base_of(tenant.as_ref()),
                        tenant.map(|t| t.name_ja).unwrap_or_default(),
                    );
                    cities.insert(delivery.tenant_id.clone(), found.clone());
                    found
                }
            };
            let content = match &delivery.notice_id {
                None => Ok(Arc::new(Content {
                    subject: delivery.subject.clone(),
                    text: delivery.body.clone(),
                    url: None,
                    urgency: None,
                    notice_json: None,
                    city_json: serde_json::Value::from(city.clone()).to_string(),
                    city,
                })),
                Some(notice_id) => self.notice(&delivery, notice_id, &base, &city).await,
            };
            match content {
                Ok(content) => prepared.push(Prepared {
                    delivery,
                    content,
                    base,
                }),
                Err(outcome) => unsendable.push((delivery, outcome)),
            }
        }
        (prepared, unsendable)
    }

    async fn tenant(&self, id: &str) -> Option<Tenant> {
        let mut tenants = self.tenants.lock().await;
        if !tenants.iter().any(|t| t.id == id) {
            if let Ok(fresh) = self.store.tenants().await {
                *tenants = fresh;
            }
        }
        tenants.iter().find(|t| t.id == id).cloned()
    }

    fn base_of(&self, tenant: Option<&Tenant>) -> String {
        match tenant.and_then(|t| t.host.as_deref()) {
            Some(host) => {
                let scheme = self.public_url.split("://").next().unwrap_or("https");
                format!("{scheme}://{host}")
            }
            None => self.public_url.clone(),
        }
    }

    async fn notice(
        &self,
        delivery: &Delivery,
        notice_id: &str,
        base: &str,
        city: &str,
    ) -> Result<Arc<Content>, Outcome> {
        let key = (
            delivery.tenant_id.clone(),
            notice_id.to_string(),
            delivery.language.clone(),
        );
        if let Some(content) = self.notices.lock().await.get(&key) {
            return Ok(content.clone());
        }
        let notice = match self.store.notice(&delivery.tenant_id, notice_id).await {
            Ok(Some(notice)) => notice,
            Ok(None) => return Err(Outcome::Dead("the notice no longer exists".into())),
            Err(error) => return Err(Outcome::Retry(error.to_string())),
        };
        let categories = match self.store.notice_categories(&delivery.tenant_id).await {
            Ok(categories) => categories,
            Err(error) => return Err(Outcome::Retry(error.to_string())),
        };
        let content = Arc::new(render(&notice, &categories, &delivery.language, base, city));
        let mut notices = self.notices.lock().await;
        if notices.len() >= REMEMBERED {
            notices.clear();
        }
        notices.insert(key, content.clone());
        Ok(content)
    }
}

/// A notice as a message: the subject marks its urgency, the text is the Markdown source
/// (readable as it is in a mail or a LINE bubble).
fn render(notice: &Notice, categories: &[Category], lang: &str, base: &str, city: &str) -> Content {
    let draft = &notice.draft;
    let title = draft.title.get(lang);
    let mark = match (draft.urgency, lang) {
        (Urgency::Emergency, "en") => "[EMERGENCY] ",
        (Urgency::Emergency, _) => "【緊急】",
        (Urgency::Important, "en") => "[Important] ",
        (Urgency::Important, _) => "【重要】",
        (Urgency::Normal, _) => "",
    };
    let url = format!("{base}/notices/{}", notice.id);
    Content {
        subject: format!("{mark}{title}"),
        text: draft.body.get(lang).to_string(),
        url: Some(url.clone()),
        urgency: Some(draft.urgency),
        notice_json: Some(
            json!({
                "id": notice.id,
                "title": title,
                "text": draft.body.get(lang),
                "url": url,
                "urgency": draft.urgency.as_str(),
                "categories": draft.categories.iter().map(|c| json!({
                    "id": c,
                    "label": category_label(categories, c).map(|l| l.get(lang).to_string()),
                })).collect::<Vec<_>>(),
                "areas": draft.areas,
                "published_at": notice.publish_at,
                "expires_at": notice.expires_at,
            })
            .to_string(),
        ),
        city_json: serde_json::Value::from(city).to_string(),
        city: city.to_string(),
    }
}
