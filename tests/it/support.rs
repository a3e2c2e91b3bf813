//! Small helpers shared by the tests: JSON requests, HTML selectors, raw SQL for assertions.

use conduit::db::DbPool;
use conduit::db_run;
use rocket::http::Status;
use rocket::local::asynchronous::{Client, LocalResponse};
use scraper::{Html, Selector};
use serde_json::Value;

/// Status and parsed JSON body of a response.
pub async fn json_of(res: LocalResponse<'_>) -> (Status, Value) {
    let status = res.status();
    let body = res.into_string().await.unwrap_or_default();
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, value)
}

/// `GET path` as JSON.
pub async fn get_json(client: &Client, path: &str) -> (Status, Value) {
    json_of(client.get(path.to_owned()).dispatch().await).await
}

/// Status and parsed HTML of a page.
pub async fn get_page(client: &Client, path: &str) -> (Status, Html) {
    let res = client.get(path.to_owned()).dispatch().await;
    let status = res.status();
    (
        status,
        Html::parse_document(&res.into_string().await.unwrap_or_default()),
    )
}

/// Texts of every element matching `selector`, trimmed.
pub fn texts(html: &Html, selector: &str) -> Vec<String> {
    let sel = Selector::parse(selector).unwrap_or_else(|e| panic!("bad selector {selector}: {e:?}"));
    html.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

/// One integer from a SQL query (counts in assertions).
pub async fn scalar(db: &DbPool, sql: &str) -> i64 {
    db_run!(db, |c| sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await).expect(sql)
}

/// Run a statement with no parameters (seeding in tests).
pub async fn exec(db: &DbPool, sql: &str) -> Result<(), sqlx::Error> {
    db_run!(db, |c| sqlx::query(sql).execute(c).await.map(|_| ()))
}
