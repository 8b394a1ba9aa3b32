package org.infoscreen.fleet;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.layout.PatternLayout;

import java.io.StringWriter;

/**
 * Captures everything the service logs in this JVM (root logger, the levels of log4j2.xml) from
 * the moment it is started, for tests that assert on log lines. Start it in a static initializer
 * of the test class, before the Camel context is configured.
 */
public final class LogCapture {

    private final StringWriter out = new StringWriter();

    private LogCapture() {
    }

    /** @return a capture attached to the root logger */
    public static LogCapture start() {
        LogCapture capture = new LogCapture();
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        WriterAppender appender = WriterAppender.newBuilder()
                .setName("capture-" + System.identityHashCode(capture))
                .setTarget(capture.out)
                .setLayout(PatternLayout.newBuilder().withPattern("%-5level %c{1} - %msg%n").build())
                .build();
        appender.start();
        config.addAppender(appender);
        config.getRootLogger().addAppender(appender, Level.ALL, null);
        ctx.updateLoggers();
        return capture;
    }

    /** @return what was logged so far */
    public synchronized String text() {
        synchronized (out) {
            return out.toString();
        }
    }
}
