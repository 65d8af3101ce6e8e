//! IAM and STS over AWS Query: the services served at the same endpoint as SQS that speak only Query.
//! Their results are rendered from the output values the security layer returns (the model's member
//! names, lists as arrays), which needs no model: every list of both services is wrapped in `member`
//! elements, and neither has maps or attributes.

use serde_json::Value;

use crate::query::escape_into;
use crate::WireResponse;

/// The service a request is for, as its SigV4 credential scope names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Sqs,
    Iam,
    Sts,
}

impl Service {
    /// The service a credential scope names, if Sluice serves it.
    pub fn from_scope(name: &str) -> Option<Service> {
        match name {
            "sqs" => Some(Service::Sqs),
            "iam" => Some(Service::Iam),
            "sts" => Some(Service::Sts),
            _ => None,
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            Service::Sqs => crate::XML_NAMESPACE,
            Service::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        }
    }
}

/// An IAM or STS error as the service words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub status: u16,
    pub sender_fault: bool,
}

/// `<{action}Response>` with `<{action}Result>` when the action has output (`result` is an object), and
/// the request id.
pub fn encode_service_response(
    service: Service,
    action: &str,
    result: &Value,
    request_id: &str,
) -> WireResponse {
    let mut xml = String::with_capacity(512);
    xml.push_str("<?xml version=\"1.0\"?>");
    xml.push_str(&format!(
        "<{action}Response xmlns=\"{}\">",
        service.namespace()
    ));
    if let Value::Object(members) = result {
        xml.push_str(&format!("<{action}Result>"));
        for (name, value) in members {
            write_element(name, value, &mut xml);
        }
        xml.push_str(&format!("</{action}Result>"));
    }
    xml.push_str("<ResponseMetadata><RequestId>");
    escape_into(request_id, &mut xml);
    xml.push_str(&format!(
        "</RequestId></ResponseMetadata></{action}Response>"
    ));
    WireResponse {
        status: 200,
        content_type: "text/xml",
        query_error: None,
        body: xml.into_bytes(),
    }
}

/// An `ErrorResponse` in the service's namespace.
pub fn encode_service_error(
    service: Service,
    error: &ServiceError<'_>,
    request_id: &str,
) -> WireResponse {
    let mut xml = String::with_capacity(256);
    xml.push_str("<?xml version=\"1.0\"?>");
    xml.push_str(&format!(
        "<ErrorResponse xmlns=\"{}\"><Error><Type>{}</Type><Code>",
        service.namespace(),
        if error.sender_fault {
            "Sender"
        } else {
            "Receiver"
        }
    ));
    escape_into(error.code, &mut xml);
    xml.push_str("</Code><Message>");
    escape_into(error.message, &mut xml);
    xml.push_str("</Message></Error><RequestId>");
    escape_into(request_id, &mut xml);
    xml.push_str("</RequestId></ErrorResponse>");
    WireResponse {
        status: error.status,
        content_type: "text/xml",
        query_error: None,
        body: xml.into_bytes(),
    }
}

fn write_element(name: &str, value: &Value, xml: &mut String) {
    if value.is_null() {
        return;
    }
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    match value {
        Value::Object(members) => {
            for (member, value) in members {
                write_element(member, value, xml);
            }
        }
        Value::Array(items) => {
            for item in items {
                write_element("member", item, xml);
            }
        }
        Value::String(text) => escape_into(text, xml),
        Value::Number(n) => xml.push_str(&n.to_string()),
        Value::Bool(b) => xml.push_str(if *b { "true" } else { "false" }),
        Value::Null => {}
    }
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(wire: &WireResponse) -> &str {
        std::str::from_utf8(&wire.body).unwrap()
    }

    #[test]
    fn lists_are_members_and_absent_output_has_no_result() {
        let result = serde_json::json!({
            "Users": [{"UserName": "a&b", "Path": "/"}],
            "IsTruncated": false,
            "Marker": null,
        });
        let wire = encode_service_response(Service::Iam, "ListUsers", &result, "r-1");
        assert_eq!(
            text(&wire),
            "<?xml version=\"1.0\"?><ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <ListUsersResult><Users><member><UserName>a&amp;b</UserName><Path>/</Path></member></Users>\
             <IsTruncated>false</IsTruncated></ListUsersResult>\
             <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></ListUsersResponse>"
        );
        let wire = encode_service_response(Service::Iam, "DeleteUser", &Value::Null, "r-2");
        assert_eq!(
            text(&wire),
            "<?xml version=\"1.0\"?><DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></DeleteUserResponse>"
        );
    }

    #[test]
    fn errors_carry_the_services_namespace_code_and_status() {
        let error = ServiceError {
            code: "NoSuchEntity",
            message: "The user with name bob cannot be found.",
            status: 404,
            sender_fault: true,
        };
        let wire = encode_service_error(Service::Iam, &error, "r-3");
        assert_eq!(wire.status, 404);
        assert_eq!(
            text(&wire),
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
             <Message>The user with name bob cannot be found.</Message></Error>\
             <RequestId>r-3</RequestId></ErrorResponse>"
        );
    }
}
