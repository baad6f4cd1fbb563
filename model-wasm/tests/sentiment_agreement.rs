//! The 8-bit model must agree with the float fine-tuned model on at least 99% of labels.
//! The sample below is the first 300 rows of the held-out validation split (SST-2 training rows
//! never trained on), labelled by the float model with
//! `cargo xtask eval-sentiment --split val --float <out>/best.safetensors --write-float-labels F`.
//! The same command reports the agreement over the whole split.

mod common;

use model_wasm::text::TextClassifier;

/// `float_label<TAB>sentence`, 1 = positive.
const FLOAT_LABELS: &str = r#"0	no entertainment value
0	provide any conflict
1	before it takes a sudden turn and devolves into a bizarre sort of romantic comedy , steven shainberg 's adaptation of mary gaitskill 's harrowing short story ... is a brilliantly played , deeply unsettling experience .
1	when cowering and begging at the feet a scruffy giannini , madonna gives her best performance since abel ferrara had her beaten to a pulp in his dangerous game .
0	a recycled and dumbed-down version of love story
1	seen , constantly pulling the rug from underneath us , seeing things from new sides , plunging deeper , getting more intense
0	i am baffled by jason x.
1	motherhood
1	a few gut-busting laughs
1	mind-bending
0	the first mistake , i suspect , is casting shatner as a legendary professor and kunis as a brilliant college student -- where 's pauly shore as the rocket scientist ?
1	that have preceded it
1	the connected stories of breitbart and hanussen are actually fascinating
1	a remarkably alluring film set in the constrictive eisenhower era about one suburban woman 's yearning in the face of a loss that shatters her cheery and tranquil suburban life .
0	does n't really go anywhere .
1	more than she can handle
0	cho 's latest comic set is n't as sharp or as fresh as i 'm the one that i want
0	have a tendency to slip into hokum
0	ararat far more demanding than it needs to be
1	sly , sophisticated and surprising .
0	as a director , eastwood is off his game --
0	abysmally
0	the film 's lack of personality
0	its three-hour running time plays closer to two .
0	limply between bizarre comedy and pallid horror
0	challenging or depressing
1	soderbergh 's best films , `` erin brockovich , '' `` out of sight '' and `` ocean 's eleven , ''
1	a more measured or polished production ever could
1	an ambitious movie
1	in world cinema
0	the film lapses too often into sugary sentiment and withholds delivery on the pell-mell pyrotechnics its punchy style promises .
1	a non-mystery mystery .
0	it is impossible to think of any film more challenging or depressing than the grey zone
1	a movie about the power of poetry and passion
0	feeling a little sticky and unsatisfied
1	shimmering cinematography
1	because of its epic scope
0	's replaced by some dramatic scenes that are jarring and deeply out of place in what could have ( and probably should have ) been a lighthearted comedy .
1	masterfully calibrated
1	keep the movie slaloming through its hackneyed elements with enjoyable ease .
0	a milquetoast movie of the week blown up for the big screen
0	as banal as the telling may be
1	in watching the resourceful molly stay a step ahead of her pursuers
1	although it lacks the detail of the book , the film does pack some serious suspense .
1	refreshingly
0	muy loco
1	powerful commentary
1	the core in a film you will never forget -- that you should never forget
0	the story 's undeniably hard to follow
1	goes where you expect and often surprises you with unexpected comedy
1	its elegantly colorful look and sound
1	present an unflinching look
1	sometimes is a brilliant movie .
1	has a knack for casting , often resurrecting performers who rarely work in movies now ... and drawing flavorful performances from bland actors
1	of seeming at once both refreshingly different and reassuringly familiar
0	should be complaining when a film clocks in around 90 minutes these days
1	both a beautifully made nature film and a tribute to a woman whose passion for this region and its inhabitants still shines in her quiet blue eyes .
1	is richly detailed , deftly executed and utterly absorbing .
0	make trouble
0	might have guessed
0	as they come , already having been recycled more times than i 'd care to count
1	the best korean film
1	memorable first interrogation
0	` the country bears ' should never have been brought out of hibernation .
0	unfunny tricks
1	is the phenomenal , water-born cinematography by david hennings
0	the immediate aftermath of the terrorist attacks
1	's thanks to huston 's revelatory performance
0	'm left slightly disappointed that it did n't
1	it 's rare to find a film to which the adjective ` gentle ' applies , but the word perfectly describes pauline & paulette
1	touches smartly and wistfully
0	that we would pay a considerable ransom not to be looking at
1	moments out of an alice
0	yet unforgivingly inconsistent
1	an allegory concerning the chronically mixed signals african american professionals get about overachieving could be intriguing ,
1	the lively intelligence
1	one of those rare docs that paints a grand picture of an era and makes the journey feel like a party
0	definite room for improvement
1	provides the drama that gives added clout to this doc .
0	's no new `` a christmas carol '' out in the theaters this year
0	the movie 's ultimate point -- that everyone should be themselves -- is trite , but
1	deeply moving effort to put a human face on the travail of thousands of vietnamese
0	a social injustice , at least
1	embraced
1	funny bones tickled
1	it 's dark but has wonderfully funny moments ; you care about the characters
1	trouble every day is a success in some sense ,
0	, cynical
1	the best thing about the movie is its personable , amusing cast .
1	more spirit and bite than your average formulaic romantic quadrangle
1	treats the subject with fondness and respect
0	uncommitted
0	is just a corny examination of a young actress trying to find her way
0	essentially juiceless
0	pouty-lipped poof
0	directed , barely ,
0	toss it
0	it would n't have taken the protagonists a full hour to determine that in order to kill a zombie you must shoot it in the head
0	releasing a film with the word ` dog ' in its title in january lends itself to easy jokes and insults , and
0	its observation of just how much more grueling and time-consuming the illusion of work is than actual work
1	ca n't go wrong
1	of being the big
0	a potentially sudsy set-up
1	a surprisingly juvenile lark ,
0	loud , ugly , irritating movie
0	is awful
1	better movie experience
1	the acting is just fine ,
1	as i 'm the one that i want
0	is far from disappointing , offering an original
0	the emotional overload of female angst irreparably drags the film down .
0	a choppy ending
1	fun and nimble
1	are oscar-size
0	are tantamount to insulting the intelligence of anyone who has n't been living under a rock
1	a heady , biting , be-bop
0	bad people
1	excels because , unlike so many other hollywood movies of its ilk , it offers hope
1	can not mount a cogent defense of the film as entertainment , or even performance art , although the movie does leave you marveling at these guys ' superhuman capacity to withstand pain
1	robert harmon 's less-is-more approach delivers real bump-in - the-night chills -- his greatest triumph is keeping the creepy crawlies hidden in the film 's thick shadows
1	intimate and intelligent
0	talkiness is n't necessarily bad , but the dialogue frequently misses the mark
0	clearly a manipulative film
0	has been lost in the translation ... another routine hollywood frightfest in which the slack execution italicizes the absurdity of the premise .
0	this did n't connect with me would require another viewing
0	of the most plain , unimaginative romantic comedies i
1	its exquisite acting , inventive screenplay , mesmerizing music
0	a truly , truly bad movie
0	the-night
0	sc2 is an autopilot hollywood concoction lacking in imagination and authentic christmas spirit , yet it 's geared toward an audience full of masters of both .
0	really wrong with this ricture
0	may be galled that you 've wasted nearly two hours of your own precious life with this silly little puddle of a movie .
0	a frustrating ` tweener ' -- too slick
1	hanukkah
1	to give them credit for : the message of the movie
1	hong kong action cinema is still alive and kicking
1	a live-wire film
1	in looking at the comic effects of jealousy
1	be moved to the edge of their seats by the dynamic first act
1	a more down-home flavor
1	one of mr. chabrol 's subtlest works , but also one of his most uncanny
1	an enthralling aesthetic experience , one that 's steeped in mystery and a ravishing , baroque beauty .
0	hollow , self-indulgent ,
0	cut through the layers of soap-opera emotion
1	makes it work more than it probably should
0	is such a blip on the year 's radar screen that it 's tempting just to go with it for the ride .
0	if the full monty was a freshman fluke
0	authentically vague , but ultimately purposeless ,
1	the pleasures of a slightly naughty , just-above-average off - broadway play
1	transcends ethnic lines .
1	a customarily jovial air
0	the auditorium feeling dizzy , confused , and totally disorientated
1	imaginative flight
0	long-on-the-shelf
0	the year 's worst cinematic tragedies
0	full , irritating display
1	posing as a real movie
1	longley 's film
1	's just as wonderful on the big screen
0	, low-wattage
1	love stories you will ever see .
1	cox creates a fluid and mesmerizing sequence of images to match the words of nijinsky 's diaries .
0	such a premise is ripe for all manner of lunacy , but kaufman and gondry rarely seem sure of where it should go .
1	does steven seagal come across these days ?
0	long and relentlessly saccharine
1	the most amazing super-sized dosage of goofball stunts any `` jackass '' fan
1	at once both refreshingly different and
1	suspenseful
1	sports aficionados
0	green ruins every single scene he 's in , and the film , while it 's not completely wreaked , is seriously compromised by that
1	will definitely win some hearts
1	energy and excitement
0	it may as well be called `` jar-jar binks : the movie . ''
0	meaningless
0	's hard to say who might enjoy this
1	a low-key , organic way that encourages you to accept it as life and go with its flow
0	even elizabeth hurley seem graceless and ugly
0	were less densely plotted
1	, generosity and diplomacy
0	wanes
0	although some viewers will not be able to stomach so much tongue-in-cheek weirdness
0	parents beware
0	some kid who ca n't act , only echoes of jordan ,
0	dripping with cliche and
0	how very bad
1	e.t. remains the most wondrous of all hollywood fantasies -- and the apex of steven spielberg 's misunderstood career .
0	a bad sign when they 're supposed to be having a collective heart attack
1	ideal outlet
0	cruel , misanthropic stuff with only weak claims to surrealism and black comedy
1	amidst the action , the script carries arnold ( and the viewers ) into the forbidden zone of sympathizing with terrorist motivations by presenting the `` other side of the story . ''
0	panic
1	the first half of gangster no. 1 drips with style
1	entertaining , if somewhat standardized , action
0	to remind us of how very bad a motion picture can truly be
0	comes off more like a misdemeanor , a flat , unconvincing drama that never catches fire .
0	who are trying to make their way through this tragedy
1	assurance worthy
1	a river of sadness that pours into every frame
0	ai n't art , by a long shot
0	lack a strong-minded viewpoint , or a sense of humor
1	enjoyable randomness
1	mystery and a ravishing , baroque beauty
1	some laughs and a smile
0	a heavy stench of ` been there , done
1	that comes to mind , while watching eric rohmer 's tribute to a courageous scottish lady
1	marvelous documentary touches -- ever so gracefully --
0	not even solondz 's thirst for controversy , sketchy characters and immature provocations can fully succeed at cheapening it .
0	a bad way
0	control-alt-delete
1	it 's something of the ultimate scorsese film , with all the stomach-turning violence , colorful new york gang lore and other hallmarks of his personal cinema painted on their largest-ever historical canvas .
1	is pleasant enough
0	seems uncertain whether it wants to be an acidic all-male all about eve or a lush , swooning melodrama in the intermezzo strain
1	dramatic
0	a sudden turn and devolves
1	like a dinner guest showing off his doctorate
0	longer exposition sequences between them
0	turned out to be a one-trick pony
0	in a superficial way , while never sure
0	is that it 's far too sentimental .
1	a great impression
1	best possible
0	is so prolonged and boring it is n't even close to being the barn-burningly bad movie it promised it would be
0	all looks and plays like a $ 40 million version of a game you 're more likely to enjoy on a computer .
1	more than sucking you in ... and making you sweat
0	badly interlocked stories drowned by all too clever complexity .
0	has the air of a surprisingly juvenile lark , a pop-influenced prank whose charms are immediately apparent and wear thin with repetition .
0	`` bad '' is the operative word for `` bad company , '' and
0	as if solondz had two ideas for two movies , could n't really figure out how to flesh either out
1	audacious-impossible yet compelling
1	manages a neat trick , bundling the flowers of perversity , comedy and romance into a strangely tempting bouquet of a movie .
1	emerged as hilarious lunacy
0	tortured husband
1	huge heart
1	this often very funny collegiate gross-out comedy
1	stellar
0	distaste
0	a nagging sense
0	no affinity
1	a riveting story well told .
0	difficult to tell who the other actors in the movie are
0	splatter
1	thoroughly engrossing and
0	long gone bottom-of-the-bill fare
1	wants to be liked by the people who can still give him work .
0	their shallow styles
1	i do n't know if frailty will turn bill paxton into an a-list director , but he can rest contentedly with the knowledge that he 's made at least one damn fine horror movie
1	a damn fine and
1	the film has a laundry list of minor shortcomings , but the numerous scenes of gory mayhem are worth the price of admission ... if `` gory mayhem '' is your idea of a good time
0	mediocrity
1	an interesting story of pointed personalities , courage , tragedy and the little guys
0	lawrence sounds whiny and defensive , as if his life-altering experiences made him bitter and less mature .
0	how lame
0	you enjoy being rewarded by a script that assumes you are n't very bright
1	fun with it all
0	philosophers , not filmmakers
1	a light-hearted way
1	willing to let the earnestness of its execution and skill of its cast take you down a familiar road with a few twists
1	washington demands and receives excellent performances
1	the scorpion king more than ably meets those standards
0	with seriously dumb characters , which somewhat dilutes the pleasure of watching them
0	strenuously unfunny showtime deserves the hook .
1	's surprisingly decent , particularly for a tenth installment in a series
1	director todd solondz has made a movie about critical reaction to his two previous movies , and about his responsibility to the characters that he creates .
1	are so well established that the gang feels comfortable with taking insane liberties and doing the goofiest stuff out of left field
0	become annoying and artificial
1	trembling and gratitude
0	moldering pile
1	i 've never seen or heard anything quite like this film
1	a pretty good overall picture of the situation
0	`` ... something appears to have been lost in the translation this time .
0	a half dozen
0	disturbing
0	the film is so packed with subplots involving the various silbersteins that it feels more like the pilot episode of a tv series than a feature film .
1	for a great film noir
0	the importance of being earnest movie seems to be missing a great deal of the acerbic repartee of the play . ''
0	enough sardonic
0	tortured and self-conscious material
1	whether or not you 're enlightened by any of derrida 's lectures on `` the other '' and `` the self , '' derrida is an undeniably fascinating and playful fellow .
0	like a glossy rehash
0	need of a scented bath
0	this turd
1	, it offers much to absorb and even more to think about after the final frame .
0	twenty the worst of the brosnan bunch
1	the clever credits roll
1	really solid
0	it finds no way to entertain or inspire its viewers .
1	in the way that makes you ache with sadness ( the way chekhov is funny ) , profound without ever being self-important , warm without ever succumbing to sentimentality
0	cold , gray , antiseptic and emotionally desiccated
1	i 'll stay with the stage versions , however , which bite cleaner , and deeper .
0	dripping with cliche and bypassing no opportunity to trivialize the material
1	wise , wizened
0	anemic
0	exceptionally dreary and overwrought bit
0	aside from the fact that the film idiotically uses the website feardotcom.com or the improperly hammy performance from poor stephen rea
1	first-class
0	patchy
1	from the exoticism of its seas of sand to the fierce grandeur of its sweeping battle scenes
0	remotely topical or sexy
1	's wise enough to recognize that there are few things in this world more complex -- and , as it turns out , more fragile -- than happiness
1	create a feature film that is wickedly fun to watch"#;

#[test]
fn quantized_model_agrees_with_the_float_model() {
    let Some(shipped) = common::shipped_model("sentiment") else {
        return;
    };
    let model = TextClassifier::from_model_file(
        &shipped.name,
        &shipped.bytes,
        &shipped.sha256,
        &shipped.text_spec(),
    )
    .expect("shipped model loads");
    let rows: Vec<(bool, &str)> = FLOAT_LABELS
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(label, text)| (label == "1", text))
        .collect();
    assert_eq!(rows.len(), 300);
    let texts: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let predicted = model.classify_batch(&texts).expect("classifies");
    let agree = rows
        .iter()
        .zip(&predicted)
        .filter(|((pos, _), p)| *pos == (p.label == "positive"))
        .count();
    let rate = agree as f64 / rows.len() as f64;
    println!("agreement {agree}/{} = {rate:.4}", rows.len());
    assert!(
        rate >= 0.99,
        "8-bit and float labels agree on only {rate:.4}"
    );
}
