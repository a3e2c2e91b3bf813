//! `ApiJson<T>`: a JSON body guard that says what is wrong (for both JSON faces: `/api` and
//! `/api/admin`). Rocket's `Json` answers a bare
//! status; this one checks the content type, the size limit and UTF-8, and hands the parser's
//! message to the `/api` catcher.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::Request;
use serde::de::DeserializeOwned;

use crate::error::CatcherMessage;

/// A JSON request body deserialized into `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

fn fail<'r, T>(
    req: &'r Request<'_>,
    status: Status,
    message: String,
) -> data::Outcome<'r, T, String> {
    req.local_cache(|| CatcherMessage(Some(message.clone())));
    Outcome::Error((status, message))
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned> FromData<'r> for ApiJson<T> {
    type Error = String;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        if let Some(ct) = req.content_type() {
            if !ct.is_json() {
                let message = format!("unsupported content type `{ct}`: send application/json");
                return fail(req, Status::UnsupportedMediaType, message);
            }
        }
        let limit = req.limits().get("json").unwrap_or(1.mebibytes());
        let bytes = match data.open(limit).into_bytes().await {
            Ok(bytes) if bytes.is_complete() => bytes.into_inner(),
            Ok(_) => {
                return fail(
                    req,
                    Status::PayloadTooLarge,
                    format!("the request body is larger than {limit}"),
                )
            }
            Err(e) => {
                return fail(
                    req,
                    Status::BadRequest,
                    format!("could not read the request body: {e}"),
                )
            }
        };
        if std::str::from_utf8(&bytes).is_err() {
            return fail(
                req,
                Status::BadRequest,
                "the request body is not valid UTF-8".into(),
            );
        }
        match serde_json::from_slice::<T>(&bytes) {
            Ok(value) => Outcome::Success(ApiJson(value)),
            Err(e) if e.is_data() => fail(
                req,
                Status::UnprocessableEntity,
                format!("invalid request body: {e}"),
            ),
            Err(e) => fail(req, Status::BadRequest, format!("malformed JSON: {e}")),
        }
    }
}
