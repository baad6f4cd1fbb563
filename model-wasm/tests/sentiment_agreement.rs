//! The browser's mode (8-bit weights *and* activations, integer products) must give the same
//! label as f32 products over the same 8-bit weights on at least 99% of 300 held-out SST-2
//! phrases: the activation quantiser is what the browser adds on top of the weights' own 8 bits.
//!
//! Why not the float model's labels, as before: the sample used to be labelled by the float
//! weights the shipped file was quantised from. The file now comes from the sentence-split run,
//! whose float weights were not kept, and a sample labelled by the earlier model's weights says
//! nothing about this file. The float agreement over the whole split (982 of 986 sentences) is
//! on the model card; `cargo xtask eval-sentiment --split val --float <out>/best.safetensors`
//! re-measures it once a run's weights exist.

mod common;

use model_wasm::text::{MatmulMode, TextClassifier};

/// One phrase per line: the first 300 rows of the first model's held-out split.
const PHRASES: &str = r#"no entertainment value
provide any conflict
before it takes a sudden turn and devolves into a bizarre sort of romantic comedy , steven shainberg 's adaptation of mary gaitskill 's harrowing short story ... is a brilliantly played , deeply unsettling experience .
when cowering and begging at the feet a scruffy giannini , madonna gives her best performance since abel ferrara had her beaten to a pulp in his dangerous game .
a recycled and dumbed-down version of love story
seen , constantly pulling the rug from underneath us , seeing things from new sides , plunging deeper , getting more intense
i am baffled by jason x.
motherhood
a few gut-busting laughs
mind-bending
the first mistake , i suspect , is casting shatner as a legendary professor and kunis as a brilliant college student -- where 's pauly shore as the rocket scientist ?
that have preceded it
the connected stories of breitbart and hanussen are actually fascinating
a remarkably alluring film set in the constrictive eisenhower era about one suburban woman 's yearning in the face of a loss that shatters her cheery and tranquil suburban life .
does n't really go anywhere .
more than she can handle
cho 's latest comic set is n't as sharp or as fresh as i 'm the one that i want
have a tendency to slip into hokum
ararat far more demanding than it needs to be
sly , sophisticated and surprising .
as a director , eastwood is off his game --
abysmally
the film 's lack of personality
its three-hour running time plays closer to two .
limply between bizarre comedy and pallid horror
challenging or depressing
soderbergh 's best films , `` erin brockovich , '' `` out of sight '' and `` ocean 's eleven , ''
a more measured or polished production ever could
an ambitious movie
in world cinema
the film lapses too often into sugary sentiment and withholds delivery on the pell-mell pyrotechnics its punchy style promises .
a non-mystery mystery .
it is impossible to think of any film more challenging or depressing than the grey zone
a movie about the power of poetry and passion
feeling a little sticky and unsatisfied
shimmering cinematography
because of its epic scope
's replaced by some dramatic scenes that are jarring and deeply out of place in what could have ( and probably should have ) been a lighthearted comedy .
masterfully calibrated
keep the movie slaloming through its hackneyed elements with enjoyable ease .
a milquetoast movie of the week blown up for the big screen
as banal as the telling may be
in watching the resourceful molly stay a step ahead of her pursuers
although it lacks the detail of the book , the film does pack some serious suspense .
refreshingly
muy loco
powerful commentary
the core in a film you will never forget -- that you should never forget
the story 's undeniably hard to follow
goes where you expect and often surprises you with unexpected comedy
its elegantly colorful look and sound
present an unflinching look
sometimes is a brilliant movie .
has a knack for casting , often resurrecting performers who rarely work in movies now ... and drawing flavorful performances from bland actors
of seeming at once both refreshingly different and reassuringly familiar
should be complaining when a film clocks in around 90 minutes these days
both a beautifully made nature film and a tribute to a woman whose passion for this region and its inhabitants still shines in her quiet blue eyes .
is richly detailed , deftly executed and utterly absorbing .
make trouble
might have guessed
as they come , already having been recycled more times than i 'd care to count
the best korean film
memorable first interrogation
` the country bears ' should never have been brought out of hibernation .
unfunny tricks
is the phenomenal , water-born cinematography by david hennings
the immediate aftermath of the terrorist attacks
's thanks to huston 's revelatory performance
'm left slightly disappointed that it did n't
it 's rare to find a film to which the adjective ` gentle ' applies , but the word perfectly describes pauline & paulette
touches smartly and wistfully
that we would pay a considerable ransom not to be looking at
moments out of an alice
yet unforgivingly inconsistent
an allegory concerning the chronically mixed signals african american professionals get about overachieving could be intriguing ,
the lively intelligence
one of those rare docs that paints a grand picture of an era and makes the journey feel like a party
definite room for improvement
provides the drama that gives added clout to this doc .
's no new `` a christmas carol '' out in the theaters this year
the movie 's ultimate point -- that everyone should be themselves -- is trite , but
deeply moving effort to put a human face on the travail of thousands of vietnamese
a social injustice , at least
embraced
funny bones tickled
it 's dark but has wonderfully funny moments ; you care about the characters
trouble every day is a success in some sense ,
, cynical
the best thing about the movie is its personable , amusing cast .
more spirit and bite than your average formulaic romantic quadrangle
treats the subject with fondness and respect
uncommitted
is just a corny examination of a young actress trying to find her way
essentially juiceless
pouty-lipped poof
directed , barely ,
toss it
it would n't have taken the protagonists a full hour to determine that in order to kill a zombie you must shoot it in the head
releasing a film with the word ` dog ' in its title in january lends itself to easy jokes and insults , and
its observation of just how much more grueling and time-consuming the illusion of work is than actual work
ca n't go wrong
of being the big
a potentially sudsy set-up
a surprisingly juvenile lark ,
loud , ugly , irritating movie
is awful
better movie experience
the acting is just fine ,
as i 'm the one that i want
is far from disappointing , offering an original
the emotional overload of female angst irreparably drags the film down .
a choppy ending
fun and nimble
are oscar-size
are tantamount to insulting the intelligence of anyone who has n't been living under a rock
a heady , biting , be-bop
bad people
excels because , unlike so many other hollywood movies of its ilk , it offers hope
can not mount a cogent defense of the film as entertainment , or even performance art , although the movie does leave you marveling at these guys ' superhuman capacity to withstand pain
robert harmon 's less-is-more approach delivers real bump-in - the-night chills -- his greatest triumph is keeping the creepy crawlies hidden in the film 's thick shadows
intimate and intelligent
talkiness is n't necessarily bad , but the dialogue frequently misses the mark
clearly a manipulative film
has been lost in the translation ... another routine hollywood frightfest in which the slack execution italicizes the absurdity of the premise .
this did n't connect with me would require another viewing
of the most plain , unimaginative romantic comedies i
its exquisite acting , inventive screenplay , mesmerizing music
a truly , truly bad movie
the-night
sc2 is an autopilot hollywood concoction lacking in imagination and authentic christmas spirit , yet it 's geared toward an audience full of masters of both .
really wrong with this ricture
may be galled that you 've wasted nearly two hours of your own precious life with this silly little puddle of a movie .
a frustrating ` tweener ' -- too slick
hanukkah
to give them credit for : the message of the movie
hong kong action cinema is still alive and kicking
a live-wire film
in looking at the comic effects of jealousy
be moved to the edge of their seats by the dynamic first act
a more down-home flavor
one of mr. chabrol 's subtlest works , but also one of his most uncanny
an enthralling aesthetic experience , one that 's steeped in mystery and a ravishing , baroque beauty .
hollow , self-indulgent ,
cut through the layers of soap-opera emotion
makes it work more than it probably should
is such a blip on the year 's radar screen that it 's tempting just to go with it for the ride .
if the full monty was a freshman fluke
authentically vague , but ultimately purposeless ,
the pleasures of a slightly naughty , just-above-average off - broadway play
transcends ethnic lines .
a customarily jovial air
the auditorium feeling dizzy , confused , and totally disorientated
imaginative flight
long-on-the-shelf
the year 's worst cinematic tragedies
full , irritating display
posing as a real movie
longley 's film
's just as wonderful on the big screen
, low-wattage
love stories you will ever see .
cox creates a fluid and mesmerizing sequence of images to match the words of nijinsky 's diaries .
such a premise is ripe for all manner of lunacy , but kaufman and gondry rarely seem sure of where it should go .
does steven seagal come across these days ?
long and relentlessly saccharine
the most amazing super-sized dosage of goofball stunts any `` jackass '' fan
at once both refreshingly different and
suspenseful
sports aficionados
green ruins every single scene he 's in , and the film , while it 's not completely wreaked , is seriously compromised by that
will definitely win some hearts
energy and excitement
it may as well be called `` jar-jar binks : the movie . ''
meaningless
's hard to say who might enjoy this
a low-key , organic way that encourages you to accept it as life and go with its flow
even elizabeth hurley seem graceless and ugly
were less densely plotted
, generosity and diplomacy
wanes
although some viewers will not be able to stomach so much tongue-in-cheek weirdness
parents beware
some kid who ca n't act , only echoes of jordan ,
dripping with cliche and
how very bad
e.t. remains the most wondrous of all hollywood fantasies -- and the apex of steven spielberg 's misunderstood career .
a bad sign when they 're supposed to be having a collective heart attack
ideal outlet
cruel , misanthropic stuff with only weak claims to surrealism and black comedy
amidst the action , the script carries arnold ( and the viewers ) into the forbidden zone of sympathizing with terrorist motivations by presenting the `` other side of the story . ''
panic
the first half of gangster no. 1 drips with style
entertaining , if somewhat standardized , action
to remind us of how very bad a motion picture can truly be
comes off more like a misdemeanor , a flat , unconvincing drama that never catches fire .
who are trying to make their way through this tragedy
assurance worthy
a river of sadness that pours into every frame
ai n't art , by a long shot
lack a strong-minded viewpoint , or a sense of humor
enjoyable randomness
mystery and a ravishing , baroque beauty
some laughs and a smile
a heavy stench of ` been there , done
that comes to mind , while watching eric rohmer 's tribute to a courageous scottish lady
marvelous documentary touches -- ever so gracefully --
not even solondz 's thirst for controversy , sketchy characters and immature provocations can fully succeed at cheapening it .
a bad way
control-alt-delete
it 's something of the ultimate scorsese film , with all the stomach-turning violence , colorful new york gang lore and other hallmarks of his personal cinema painted on their largest-ever historical canvas .
is pleasant enough
seems uncertain whether it wants to be an acidic all-male all about eve or a lush , swooning melodrama in the intermezzo strain
dramatic
a sudden turn and devolves
like a dinner guest showing off his doctorate
longer exposition sequences between them
turned out to be a one-trick pony
in a superficial way , while never sure
is that it 's far too sentimental .
a great impression
best possible
is so prolonged and boring it is n't even close to being the barn-burningly bad movie it promised it would be
all looks and plays like a $ 40 million version of a game you 're more likely to enjoy on a computer .
more than sucking you in ... and making you sweat
badly interlocked stories drowned by all too clever complexity .
has the air of a surprisingly juvenile lark , a pop-influenced prank whose charms are immediately apparent and wear thin with repetition .
`` bad '' is the operative word for `` bad company , '' and
as if solondz had two ideas for two movies , could n't really figure out how to flesh either out
audacious-impossible yet compelling
manages a neat trick , bundling the flowers of perversity , comedy and romance into a strangely tempting bouquet of a movie .
emerged as hilarious lunacy
tortured husband
huge heart
this often very funny collegiate gross-out comedy
stellar
distaste
a nagging sense
no affinity
a riveting story well told .
difficult to tell who the other actors in the movie are
splatter
thoroughly engrossing and
long gone bottom-of-the-bill fare
wants to be liked by the people who can still give him work .
their shallow styles
i do n't know if frailty will turn bill paxton into an a-list director , but he can rest contentedly with the knowledge that he 's made at least one damn fine horror movie
a damn fine and
the film has a laundry list of minor shortcomings , but the numerous scenes of gory mayhem are worth the price of admission ... if `` gory mayhem '' is your idea of a good time
mediocrity
an interesting story of pointed personalities , courage , tragedy and the little guys
lawrence sounds whiny and defensive , as if his life-altering experiences made him bitter and less mature .
how lame
you enjoy being rewarded by a script that assumes you are n't very bright
fun with it all
philosophers , not filmmakers
a light-hearted way
willing to let the earnestness of its execution and skill of its cast take you down a familiar road with a few twists
washington demands and receives excellent performances
the scorpion king more than ably meets those standards
with seriously dumb characters , which somewhat dilutes the pleasure of watching them
strenuously unfunny showtime deserves the hook .
's surprisingly decent , particularly for a tenth installment in a series
director todd solondz has made a movie about critical reaction to his two previous movies , and about his responsibility to the characters that he creates .
are so well established that the gang feels comfortable with taking insane liberties and doing the goofiest stuff out of left field
become annoying and artificial
trembling and gratitude
moldering pile
i 've never seen or heard anything quite like this film
a pretty good overall picture of the situation
`` ... something appears to have been lost in the translation this time .
a half dozen
disturbing
the film is so packed with subplots involving the various silbersteins that it feels more like the pilot episode of a tv series than a feature film .
for a great film noir
the importance of being earnest movie seems to be missing a great deal of the acerbic repartee of the play . ''
enough sardonic
tortured and self-conscious material
whether or not you 're enlightened by any of derrida 's lectures on `` the other '' and `` the self , '' derrida is an undeniably fascinating and playful fellow .
like a glossy rehash
need of a scented bath
this turd
, it offers much to absorb and even more to think about after the final frame .
twenty the worst of the brosnan bunch
the clever credits roll
really solid
it finds no way to entertain or inspire its viewers .
in the way that makes you ache with sadness ( the way chekhov is funny ) , profound without ever being self-important , warm without ever succumbing to sentimentality
cold , gray , antiseptic and emotionally desiccated
i 'll stay with the stage versions , however , which bite cleaner , and deeper .
dripping with cliche and bypassing no opportunity to trivialize the material
wise , wizened
anemic
exceptionally dreary and overwrought bit
aside from the fact that the film idiotically uses the website feardotcom.com or the improperly hammy performance from poor stephen rea
first-class
patchy
from the exoticism of its seas of sand to the fierce grandeur of its sweeping battle scenes
remotely topical or sexy
's wise enough to recognize that there are few things in this world more complex -- and , as it turns out , more fragile -- than happiness
create a feature film that is wickedly fun to watch"#;

#[test]
fn integer_products_agree_with_f32_products() {
    let Some(shipped) = common::shipped_model("sentiment") else {
        return;
    };
    let load = |mode| {
        TextClassifier::from_model_file_with(
            &shipped.name,
            &shipped.bytes,
            &shipped.sha256,
            &shipped.text_spec(),
            mode,
        )
        .expect("shipped model loads")
    };
    let (int8, f32) = (load(MatmulMode::Int8), load(MatmulMode::F32));
    let texts: Vec<&str> = PHRASES.lines().collect();
    assert_eq!(texts.len(), 300);
    let (a, b) = (
        int8.classify_batch(&texts).expect("classifies"),
        f32.classify_batch(&texts).expect("classifies"),
    );
    let agree = a.iter().zip(&b).filter(|(x, y)| x.label == y.label).count();
    let rate = agree as f64 / texts.len() as f64;
    println!("agreement {agree}/{} = {rate:.4}", texts.len());
    assert!(
        rate >= 0.99,
        "integer and f32 products agree on only {rate:.4}"
    );
}
