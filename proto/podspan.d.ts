import * as $protobuf from "protobufjs";
import Long = require("long");

/** Namespace podspan. */
export namespace podspan {

    /**
     * Properties of an Envelope.
     * @deprecated Use podspan.Envelope.$Properties instead.
     */
    interface IEnvelope extends podspan.Envelope.$Properties {
    }

    /** Represents an Envelope. */
    class Envelope {

        /**
         * Constructs a new Envelope.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.Envelope.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Envelope hello. */
        hello?: (podspan.Hello.$Properties|null);

        /** Envelope welcome. */
        welcome?: (podspan.Welcome.$Properties|null);

        /** Envelope batch. */
        batch?: (podspan.Batch.$Properties|null);

        /** Envelope ack. */
        ack?: (podspan.Ack.$Properties|null);

        /** Envelope error. */
        error?: (podspan.Error.$Properties|null);

        /** Envelope msg. */
        msg?: ("hello"|"welcome"|"batch"|"ack"|"error");

        /**
         * Creates a new Envelope instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Envelope instance
         */
        static create(properties: podspan.Envelope.$Shape): podspan.Envelope & podspan.Envelope.$Shape;
        static create(properties?: podspan.Envelope.$Properties): podspan.Envelope;

        /**
         * Encodes the specified Envelope message. Does not implicitly {@link podspan.Envelope.verify|verify} messages.
         * @param message Envelope message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.Envelope.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an Envelope message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.Envelope & podspan.Envelope.$Shape} Envelope
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.Envelope & podspan.Envelope.$Shape;
    }

    namespace Envelope {

        /** Properties of an Envelope. */
        interface $Properties {

            /** Envelope hello */
            hello?: (podspan.Hello.$Properties|null);

            /** Envelope welcome */
            welcome?: (podspan.Welcome.$Properties|null);

            /** Envelope batch */
            batch?: (podspan.Batch.$Properties|null);

            /** Envelope ack */
            ack?: (podspan.Ack.$Properties|null);

            /** Envelope error */
            error?: (podspan.Error.$Properties|null);

            /** Envelope msg */
            msg?: ("hello"|"welcome"|"batch"|"ack"|"error");

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Narrowed shape of an Envelope. */
        type $Shape = {
          hello?: podspan.Hello.$Shape|null;
          welcome?: podspan.Welcome.$Shape|null;
          batch?: podspan.Batch.$Shape|null;
          ack?: podspan.Ack.$Shape|null;
          error?: podspan.Error.$Shape|null;
          $unknowns?: Uint8Array[];
        } & (
          ({ msg?: undefined; hello?: null; welcome?: null; batch?: null; ack?: null; error?: null }|{ msg?: "hello"; hello: podspan.Hello.$Shape; welcome?: null; batch?: null; ack?: null; error?: null }|{ msg?: "welcome"; hello?: null; welcome: podspan.Welcome.$Shape; batch?: null; ack?: null; error?: null }|{ msg?: "batch"; hello?: null; welcome?: null; batch: podspan.Batch.$Shape; ack?: null; error?: null }|{ msg?: "ack"; hello?: null; welcome?: null; batch?: null; ack: podspan.Ack.$Shape; error?: null }|{ msg?: "error"; hello?: null; welcome?: null; batch?: null; ack?: null; error: podspan.Error.$Shape })
        );
    }

    /**
     * Properties of a Hello.
     * @deprecated Use podspan.Hello.$Properties instead.
     */
    interface IHello extends podspan.Hello.$Properties {
    }

    /** Represents a Hello. */
    class Hello {

        /**
         * Constructs a new Hello.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.Hello.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Hello version. */
        version: number;

        /** Hello agent. */
        agent: string;

        /** Hello node. */
        node: string;

        /** Hello session. */
        session: string;

        /** Hello resumeSeq. */
        resumeSeq: (number|Long);

        /** Hello software. */
        software: string;

        /** Hello interfaces. */
        interfaces: podspan.Interface.$Properties[];

        /**
         * Creates a new Hello instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Hello instance
         */
        static create(properties: podspan.Hello.$Shape): podspan.Hello & podspan.Hello.$Shape;
        static create(properties?: podspan.Hello.$Properties): podspan.Hello;

        /**
         * Encodes the specified Hello message. Does not implicitly {@link podspan.Hello.verify|verify} messages.
         * @param message Hello message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.Hello.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Hello message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.Hello & podspan.Hello.$Shape} Hello
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.Hello & podspan.Hello.$Shape;
    }

    namespace Hello {

        /** Properties of a Hello. */
        interface $Properties {

            /** Hello version */
            version?: (number|null);

            /** Hello agent */
            agent?: (string|null);

            /** Hello node */
            node?: (string|null);

            /** Hello session */
            session?: (string|null);

            /** Hello resumeSeq */
            resumeSeq?: (number|Long|null);

            /** Hello software */
            software?: (string|null);

            /** Hello interfaces */
            interfaces?: (podspan.Interface.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Hello. */
        type $Shape = podspan.Hello.$Properties;
    }

    /**
     * Properties of a Welcome.
     * @deprecated Use podspan.Welcome.$Properties instead.
     */
    interface IWelcome extends podspan.Welcome.$Properties {
    }

    /** Represents a Welcome. */
    class Welcome {

        /**
         * Constructs a new Welcome.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.Welcome.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Welcome version. */
        version: number;

        /** Welcome committedSeq. */
        committedSeq: (number|Long);

        /**
         * Creates a new Welcome instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Welcome instance
         */
        static create(properties: podspan.Welcome.$Shape): podspan.Welcome & podspan.Welcome.$Shape;
        static create(properties?: podspan.Welcome.$Properties): podspan.Welcome;

        /**
         * Encodes the specified Welcome message. Does not implicitly {@link podspan.Welcome.verify|verify} messages.
         * @param message Welcome message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.Welcome.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Welcome message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.Welcome & podspan.Welcome.$Shape} Welcome
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.Welcome & podspan.Welcome.$Shape;
    }

    namespace Welcome {

        /** Properties of a Welcome. */
        interface $Properties {

            /** Welcome version */
            version?: (number|null);

            /** Welcome committedSeq */
            committedSeq?: (number|Long|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Welcome. */
        type $Shape = podspan.Welcome.$Properties;
    }

    /**
     * Properties of an Interface.
     * @deprecated Use podspan.Interface.$Properties instead.
     */
    interface IInterface extends podspan.Interface.$Properties {
    }

    /** Represents an Interface. */
    class Interface {

        /**
         * Constructs a new Interface.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.Interface.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Interface id. */
        id: number;

        /** Interface name. */
        name: string;

        /** Interface podIp. */
        podIp: string;

        /** Interface podName. */
        podName: string;

        /** Interface podNamespace. */
        podNamespace: string;

        /** Interface linkType. */
        linkType: number;

        /** Interface snapLen. */
        snapLen: number;

        /**
         * Creates a new Interface instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Interface instance
         */
        static create(properties: podspan.Interface.$Shape): podspan.Interface & podspan.Interface.$Shape;
        static create(properties?: podspan.Interface.$Properties): podspan.Interface;

        /**
         * Encodes the specified Interface message. Does not implicitly {@link podspan.Interface.verify|verify} messages.
         * @param message Interface message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.Interface.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an Interface message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.Interface & podspan.Interface.$Shape} Interface
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.Interface & podspan.Interface.$Shape;
    }

    namespace Interface {

        /** Properties of an Interface. */
        interface $Properties {

            /** Interface id */
            id?: (number|null);

            /** Interface name */
            name?: (string|null);

            /** Interface podIp */
            podIp?: (string|null);

            /** Interface podName */
            podName?: (string|null);

            /** Interface podNamespace */
            podNamespace?: (string|null);

            /** Interface linkType */
            linkType?: (number|null);

            /** Interface snapLen */
            snapLen?: (number|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of an Interface. */
        type $Shape = podspan.Interface.$Properties;
    }

    /**
     * Properties of a Frame.
     * @deprecated Use podspan.Frame.$Properties instead.
     */
    interface IFrame extends podspan.Frame.$Properties {
    }

    /** Represents a Frame. */
    class Frame {

        /**
         * Constructs a new Frame.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.Frame.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Frame iface. */
        iface: number;

        /** Frame tsSec. */
        tsSec: number;

        /** Frame tsNsec. */
        tsNsec: number;

        /** Frame capLen. */
        capLen: number;

        /** Frame wireLen. */
        wireLen: number;

        /** Frame data. */
        data: Uint8Array;

        /**
         * Creates a new Frame instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Frame instance
         */
        static create(properties: podspan.Frame.$Shape): podspan.Frame & podspan.Frame.$Shape;
        static create(properties?: podspan.Frame.$Properties): podspan.Frame;

        /**
         * Encodes the specified Frame message. Does not implicitly {@link podspan.Frame.verify|verify} messages.
         * @param message Frame message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.Frame.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Frame message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.Frame & podspan.Frame.$Shape} Frame
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.Frame & podspan.Frame.$Shape;
    }

    namespace Frame {

        /** Properties of a Frame. */
        interface $Properties {

            /** Frame iface */
            iface?: (number|null);

            /** Frame tsSec */
            tsSec?: (number|null);

            /** Frame tsNsec */
            tsNsec?: (number|null);

            /** Frame capLen */
            capLen?: (number|null);

            /** Frame wireLen */
            wireLen?: (number|null);

            /** Frame data */
            data?: (Uint8Array|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Frame. */
        type $Shape = podspan.Frame.$Properties;
    }

    /**
     * Properties of a StageCounter.
     * @deprecated Use podspan.StageCounter.$Properties instead.
     */
    interface IStageCounter extends podspan.StageCounter.$Properties {
    }

    /** Represents a StageCounter. */
    class StageCounter {

        /**
         * Constructs a new StageCounter.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.StageCounter.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** StageCounter stage. */
        stage: string;

        /** StageCounter received. */
        received: (number|Long);

        /** StageCounter delivered. */
        delivered: (number|Long);

        /** StageCounter dropped. */
        dropped: { [k: string]: (number|Long) };

        /**
         * Creates a new StageCounter instance using the specified properties.
         * @param [properties] Properties to set
         * @returns StageCounter instance
         */
        static create(properties: podspan.StageCounter.$Shape): podspan.StageCounter & podspan.StageCounter.$Shape;
        static create(properties?: podspan.StageCounter.$Properties): podspan.StageCounter;

        /**
         * Encodes the specified StageCounter message. Does not implicitly {@link podspan.StageCounter.verify|verify} messages.
         * @param message StageCounter message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.StageCounter.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a StageCounter message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.StageCounter & podspan.StageCounter.$Shape} StageCounter
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.StageCounter & podspan.StageCounter.$Shape;
    }

    namespace StageCounter {

        /** Properties of a StageCounter. */
        interface $Properties {

            /** StageCounter stage */
            stage?: (string|null);

            /** StageCounter received */
            received?: (number|Long|null);

            /** StageCounter delivered */
            delivered?: (number|Long|null);

            /** StageCounter dropped */
            dropped?: ({ [k: string]: (number|Long) }|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a StageCounter. */
        type $Shape = podspan.StageCounter.$Properties;
    }

    /**
     * Properties of a Batch.
     * @deprecated Use podspan.Batch.$Properties instead.
     */
    interface IBatch extends podspan.Batch.$Properties {
    }

    /** Represents a Batch. */
    class Batch {

        /**
         * Constructs a new Batch.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.Batch.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Batch seq. */
        seq: (number|Long);

        /** Batch interfaces. */
        interfaces: podspan.Interface.$Properties[];

        /** Batch frames. */
        frames: podspan.Frame.$Properties[];

        /** Batch counters. */
        counters: podspan.StageCounter.$Properties[];

        /** Batch streams. */
        streams: podspan.StreamEvent.$Properties[];

        /**
         * Creates a new Batch instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Batch instance
         */
        static create(properties: podspan.Batch.$Shape): podspan.Batch & podspan.Batch.$Shape;
        static create(properties?: podspan.Batch.$Properties): podspan.Batch;

        /**
         * Encodes the specified Batch message. Does not implicitly {@link podspan.Batch.verify|verify} messages.
         * @param message Batch message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.Batch.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Batch message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.Batch & podspan.Batch.$Shape} Batch
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.Batch & podspan.Batch.$Shape;
    }

    namespace Batch {

        /** Properties of a Batch. */
        interface $Properties {

            /** Batch seq */
            seq?: (number|Long|null);

            /** Batch interfaces */
            interfaces?: (podspan.Interface.$Properties[]|null);

            /** Batch frames */
            frames?: (podspan.Frame.$Properties[]|null);

            /** Batch counters */
            counters?: (podspan.StageCounter.$Properties[]|null);

            /** Batch streams */
            streams?: (podspan.StreamEvent.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Batch. */
        type $Shape = podspan.Batch.$Properties;
    }

    /**
     * Properties of a StreamEvent.
     * @deprecated Use podspan.StreamEvent.$Properties instead.
     */
    interface IStreamEvent extends podspan.StreamEvent.$Properties {
    }

    /** Represents a StreamEvent. */
    class StreamEvent {

        /**
         * Constructs a new StreamEvent.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.StreamEvent.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** StreamEvent conn. */
        conn: (number|Long);

        /** StreamEvent kind. */
        kind: number;

        /** StreamEvent dir. */
        dir: number;

        /** StreamEvent offset. */
        offset: (number|Long);

        /** StreamEvent data. */
        data: Uint8Array;

        /** StreamEvent length. */
        length: (number|Long);

        /** StreamEvent tsSec. */
        tsSec: number;

        /** StreamEvent tsNsec. */
        tsNsec: number;

        /** StreamEvent clientIp. */
        clientIp: Uint8Array;

        /** StreamEvent clientPort. */
        clientPort: number;

        /** StreamEvent serverIp. */
        serverIp: Uint8Array;

        /** StreamEvent serverPort. */
        serverPort: number;

        /** StreamEvent midStream. */
        midStream: boolean;

        /** StreamEvent reason. */
        reason: string;

        /**
         * Creates a new StreamEvent instance using the specified properties.
         * @param [properties] Properties to set
         * @returns StreamEvent instance
         */
        static create(properties: podspan.StreamEvent.$Shape): podspan.StreamEvent & podspan.StreamEvent.$Shape;
        static create(properties?: podspan.StreamEvent.$Properties): podspan.StreamEvent;

        /**
         * Encodes the specified StreamEvent message. Does not implicitly {@link podspan.StreamEvent.verify|verify} messages.
         * @param message StreamEvent message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.StreamEvent.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a StreamEvent message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.StreamEvent & podspan.StreamEvent.$Shape} StreamEvent
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.StreamEvent & podspan.StreamEvent.$Shape;
    }

    namespace StreamEvent {

        /** Properties of a StreamEvent. */
        interface $Properties {

            /** StreamEvent conn */
            conn?: (number|Long|null);

            /** StreamEvent kind */
            kind?: (number|null);

            /** StreamEvent dir */
            dir?: (number|null);

            /** StreamEvent offset */
            offset?: (number|Long|null);

            /** StreamEvent data */
            data?: (Uint8Array|null);

            /** StreamEvent length */
            length?: (number|Long|null);

            /** StreamEvent tsSec */
            tsSec?: (number|null);

            /** StreamEvent tsNsec */
            tsNsec?: (number|null);

            /** StreamEvent clientIp */
            clientIp?: (Uint8Array|null);

            /** StreamEvent clientPort */
            clientPort?: (number|null);

            /** StreamEvent serverIp */
            serverIp?: (Uint8Array|null);

            /** StreamEvent serverPort */
            serverPort?: (number|null);

            /** StreamEvent midStream */
            midStream?: (boolean|null);

            /** StreamEvent reason */
            reason?: (string|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a StreamEvent. */
        type $Shape = podspan.StreamEvent.$Properties;
    }

    /**
     * Properties of an Ack.
     * @deprecated Use podspan.Ack.$Properties instead.
     */
    interface IAck extends podspan.Ack.$Properties {
    }

    /** Represents an Ack. */
    class Ack {

        /**
         * Constructs a new Ack.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.Ack.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Ack seq. */
        seq: (number|Long);

        /**
         * Creates a new Ack instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Ack instance
         */
        static create(properties: podspan.Ack.$Shape): podspan.Ack & podspan.Ack.$Shape;
        static create(properties?: podspan.Ack.$Properties): podspan.Ack;

        /**
         * Encodes the specified Ack message. Does not implicitly {@link podspan.Ack.verify|verify} messages.
         * @param message Ack message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.Ack.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an Ack message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.Ack & podspan.Ack.$Shape} Ack
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.Ack & podspan.Ack.$Shape;
    }

    namespace Ack {

        /** Properties of an Ack. */
        interface $Properties {

            /** Ack seq */
            seq?: (number|Long|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of an Ack. */
        type $Shape = podspan.Ack.$Properties;
    }

    /**
     * Properties of an Error.
     * @deprecated Use podspan.Error.$Properties instead.
     */
    interface IError extends podspan.Error.$Properties {
    }

    /** Represents an Error. */
    class Error {

        /**
         * Constructs a new Error.
         * @param [properties] Properties to set
         */
        constructor(properties?: podspan.Error.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Error code. */
        code: string;

        /** Error message. */
        message: string;

        /**
         * Creates a new Error instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Error instance
         */
        static create(properties: podspan.Error.$Shape): podspan.Error & podspan.Error.$Shape;
        static create(properties?: podspan.Error.$Properties): podspan.Error;

        /**
         * Encodes the specified Error message. Does not implicitly {@link podspan.Error.verify|verify} messages.
         * @param message Error message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: podspan.Error.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an Error message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {podspan.Error & podspan.Error.$Shape} Error
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): podspan.Error & podspan.Error.$Shape;
    }

    namespace Error {

        /** Properties of an Error. */
        interface $Properties {

            /** Error code */
            code?: (string|null);

            /** Error message */
            message?: (string|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of an Error. */
        type $Shape = podspan.Error.$Properties;
    }
}
