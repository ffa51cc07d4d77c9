//! The staff side of the test harness: staff accounts in the demo city, and a browser-like
//! client of the staff console that keeps its cookies and reads CSRF tokens.

use super::{TestApp, CITY};

/// The password every test staff account gets.
pub const STAFF_PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Creates a staff account in the demo city.
    pub async fn create_staff(&self, email: &str, role: &str, department: Option<&str>) {
        self.store
            .create_user(
                &machi_store::users::NewUser {
                    tenant_id: CITY,
                    email,
                    display_name: email,
                    role,
                    department_code: department,
                },
                STAFF_PASSWORD,
            )
            .await
            .unwrap();
    }

    /// Signs a member of staff in through the login page, as a browser would.
    pub async fn sign_in(&self, email: &str) -> StaffClient {
        let mut staff = StaffClient {
            app_url: self.url(""),
            client: self.client.clone(),
            cookies: Vec::new(),
        };
        let response = staff.try_sign_in(email, STAFF_PASSWORD).await;
        assert_eq!(response.status(), 303, "sign-in of {email}");
        staff
    }
}

/// A browser-like client of the staff console: keeps its cookies and reads CSRF tokens.
pub struct StaffClient {
    pub(super) app_url: String,
    pub client: reqwest::Client,
    pub cookies: Vec<(String, String)>,
}

impl StaffClient {
    /// A browser at `base` (`http://host:port`), e.g. one node of several.
    pub fn at(base: &str) -> Self {
        Self {
            app_url: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    pub fn anonymous(app: &TestApp) -> Self {
        Self {
            app_url: app.url(""),
            client: app.client.clone(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() && !text.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    pub async fn try_sign_in(&mut self, email: &str, password: &str) -> reqwest::Response {
        let page = self.get("/staff/login").await;
        let html = page.text().await.unwrap();
        let csrf = csrf_of(&html);
        self.post(
            "/staff/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let response = self
            .client
            .get(format!("{}{path}", self.app_url))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    pub async fn get_html(&mut self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// Posts a form exactly as given (no token added).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .client
            .post(format!("{}{path}", self.app_url))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Posts a multipart form (a file upload) exactly as given.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> reqwest::Response {
        let response = self
            .client
            .post(format!("{}{path}", self.app_url))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Posts a form with the CSRF token of the page at `page` (as the browser would).
    pub async fn submit(
        &mut self,
        page: &str,
        action: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let html = self.get_html(page).await;
        let csrf = csrf_of(&html);
        let mut fields = form.to_vec();
        fields.push(("csrf", &csrf));
        self.post(action, &fields).await
    }
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[start..start + html[start..].find('"').unwrap()].to_string()
}
