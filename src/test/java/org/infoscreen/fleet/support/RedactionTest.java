package org.infoscreen.fleet.support;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Redaction}: every shape a credential takes in this service's texts loses its value. */
class RedactionTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "GET /cm?cmnd=Power1%20On&user=admin&password=s3cr%26t HTTP/1.1 | GET /cm?cmnd=Power1%20On&user=admin&password=*** HTTP/1.1",
            ">> \"Authorization: Basic YWRtaW46czNjcg==[\\r][\\n]\" | >> \"Authorization: Basic ***[\\r][\\n]\"",
            "Authorization=Bearer abc.def.ghi, Accept=* | Authorization=Bearer ***, Accept=*",
            "{\"UserName\":\"admin\",\"Password\":\"a&b\\\"c\"} | {\"UserName\":\"admin\",\"Password\":***}",
            "X-Auth-Token: 8f2e1c | X-Auth-Token: ***",
            "X-Api-Key: k-123 | X-Api-Key: ***",
            "https://h/x?token=abc&y=1 | https://h/x?token=***&y=1",
            "secret_ref POWER_LOBBY is fine | secret_ref POWER_LOBBY is fine"})
    void credentialValuesAreReplaced(String text, String expected) {
        assertThat(Redaction.redact(text)).isEqualTo(expected);
    }
}
